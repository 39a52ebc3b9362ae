package match

import "strings"

// nicknameTable lists common English given names with their nicknames and spelling variants.
// Every name on a line is interchangeable with every other name on the same line; a name may
// appear on several lines ("al" is Albert, Alan, Alexander, Alfred). Compiled for Lantern from
// general knowledge of English naming conventions (the same pairs as public nickname lists
// such as the US Census-based carltonnorthern/nicknames), kept short and conservative.
const nicknameTable = `
aaron aron ron ronnie
abigail abby abbie gail
abraham abe bram
adelaide addie della
agnes aggie nessa
alan allan allen al
albert al bert bertie
alexander alex al alec alek xander sandy lex
alexandra alex alexa lexi sandra sandy sasha
alfred al alf alfie fred freddie
alice alicia allie ally
allison alison allie ally
amanda mandy manda
andrew andy drew
angela angie
ann anne anna annie nan nancy nanette
anthony antony tony
antonio tony
archibald archie
arnold arnie
arthur art artie
augustus august gus
barbara barb barbie babs
bartholomew bart
beatrice bea trixie
benjamin ben benny benji
bernard bernie
beverly bev
bradley brad
bridget biddy bridie
calvin cal
cameron cam
carol carole caroline carolyn carrie
catherine katherine kathryn katharine cathryn catharine kate katie kathy cathy kat cat kit kitty
charles charlie chuck chas chaz chip
charlotte charlie lottie lotte
christina christine kristina kristine chris tina chrissy kris
christopher kristopher chris kris kit topher
clarence clare
clifford cliff
constance connie
cornelius neil con
cynthia cindy
daniel dan danny
danielle dani
david dave davey davy
deborah debra deb debbie debby
dennis denis denny
diana diane dianne di
donald don donnie
dorothy dot dottie dolly
douglas doug
edmund edmond ed eddie ned
edward ed eddie ted teddy ned
edwin ed eddie
eleanor elinor ellie nell nellie nora
elizabeth elisabeth liz lizzie lizzy beth betty betsy eliza libby bess bessie lisa elsie
emily em emmy
eugene gene
evelyn evie
florence flo flossie
frances fran frannie
francis frank fran
franklin frank
frederick frederic fred freddie freddy rick
gabriel gabe
gabrielle gabby gabi
geoffrey jeffrey jeffery geoff jeff
gerald gerry jerry
gertrude gertie trudy
gilbert gil
gregory greg
gwendolyn gwen
harold hal harry
harriet hattie
henry hank harry hal
herbert herb bert
howard howie
isaac ike
isabella isabel isabelle bella izzy
jacob jake
james jim jimmy jamie jem
jane jenny janie
janet jan
jennifer jen jenn jenny
jessica jess jessie
joan joanie
john jon jack johnny jonny
jonathan johnathan jon jonny nathan
joseph joe joey jos
josephine jo josie
joshua josh
judith judy jude
julia julie
kenneth ken kenny
kimberly kimberley kim
lawrence laurence larry laurie
leonard leo len lenny
leslie lesley les
lillian lil lily
louis lewis lou
louise lou lulu
lucille lucy
margaret margaretha maggie meg peggy marge margie madge daisy greta gretchen rita
martha marty patty
martin marty
mary molly polly mae mamie
matilda tilly tillie
matthew mathew matt matty
melissa mel missy
michael micheal mike mikey mick mickey mitch
michelle michele shelly
mildred millie
nathaniel nathan nate nat
nicholas nicolas nick nicky
nicole nicki nikki
norman norm
oliver ollie
pamela pam
patricia pat patty trish tricia patsy
patrick pat paddy
peter pete
philip phillip phil pip
priscilla cilla
rachel rae
randolph randall randy
raymond ray
rebecca becky becca
richard rick ricky dick rich richie
robert bob bobby rob robbie bert
rodney rod
roger rog
ronald ron ronnie
rosemary rosalind rose rosie
russell russ
samantha sam sammy
samuel sam sammy
sandra sandy
sarah sara sally sadie
stephen steven steve stevie
stephanie steph stevie
stanley stan
susan suzanne sue susie suzy
terence terrence terry
theodore ted teddy theo
thomas tom tommy
timothy tim timmy
valerie val
victoria vicky vicki tori
vincent vince vinnie
virginia ginny ginger
walter walt wally
william bill billy will willie liam
winifred winnie
zachary zach zack
`

// nicknameGroups maps each name to the lines it appears on.
var nicknameGroups = func() map[string][]uint16 {
	m := map[string][]uint16{}
	for i, line := range strings.Split(strings.TrimSpace(nicknameTable), "\n") {
		for _, n := range strings.Fields(line) {
			m[n] = append(m[n], uint16(i))
		}
	}
	return m
}()

// Nicknames reports whether two given names are interchangeable forms of one name
// ("Bob" and "Robert", "Peggy" and "Margaret", "Jon" and "John"). Case and diacritics are ignored.
func Nicknames(a, b string) bool {
	a, b = fold(strings.TrimSpace(a)), fold(strings.TrimSpace(b))
	if a == "" || b == "" {
		return false
	}
	if a == b {
		return true
	}
	return sameNickGroup(a, b)
}

func sameNickGroup(a, b string) bool {
	ga, gb := nicknameGroups[a], nicknameGroups[b]
	for _, x := range ga {
		for _, y := range gb {
			if x == y {
				return true
			}
		}
	}
	return false
}
