package email

import (
	"math"
	"slices"
	"testing"
)

func TestSplitName(t *testing.T) {
	tests := []struct{ full, first, last string }{
		{"Jane Doe", "Jane", "Doe"},
		{"  Jane   Doe  ", "Jane", "Doe"},
		{"Doe, Jane", "Jane", "Doe"},
		{"Doe, Jane Marie", "Jane", "Doe"},
		{"Jane Marie Doe", "Jane", "Doe"},
		{"Dr. Jane Doe", "Jane", "Doe"},
		{"Mr John Smith Jr.", "John", "Smith"},
		{"John Smith, Jr.", "John", "Smith"},
		{"John Smith III", "John", "Smith"},
		{"Jane Doe, PhD, MBA", "Jane", "Doe"},
		{"Smith Jr., John", "John", "Smith"},
		{"Prof. Dr. Hans Müller", "Hans", "Müller"},
		{"Ludwig van Beethoven", "Ludwig", "van Beethoven"},
		{"Maria de la Cruz", "Maria", "de la Cruz"},
		{"Juan Carlos de la Fuente", "Juan", "de la Fuente"},
		{"Ana Da Silva", "Ana", "Da Silva"},
		{"Otto von Bismarck", "Otto", "von Bismarck"},
		{"Van Morrison", "Van", "Morrison"}, // a first name that is also a particle
		{`William "Bill" Gates`, "William", "Gates"},
		{"Robert (Bob) Jones", "Robert", "Jones"},
		{"Madonna", "Madonna", ""},
		{"Dr.", "Dr.", ""}, // a lone title is kept: better than nothing
		{"", "", ""},
		{" , ", "", ""},
		{"Mary-Jane Smith-Jones", "Mary-Jane", "Smith-Jones"},
	}
	for _, tt := range tests {
		first, last := SplitName(tt.full)
		if first != tt.first || last != tt.last {
			t.Errorf("SplitName(%q) = %q, %q; want %q, %q", tt.full, first, last, tt.first, tt.last)
		}
	}
}

func TestNewName(t *testing.T) {
	tests := []struct {
		name              string
		first, last, full string
		want              Name
	}{
		{"diacritics", "José", "Núñez", "", Name{First: "jose", Last: "nunez"}},
		{"full name diacritics", "", "", "José Núñez", Name{First: "jose", Last: "nunez"}},
		{"eszett", "Jürgen", "Weiß", "", Name{First: "jurgen", Last: "weiss"}},
		{"ae and o-slash", "Ævar", "Søren", "", Name{First: "aevar", Last: "soren"}},
		{"polish l", "Łukasz", "Żółć", "", Name{First: "lukasz", Last: "zolc"}},
		{"apostrophe", "D'Arcy", "O'Brien", "", Name{First: "darcy", Last: "obrien"}},
		{"curly apostrophe", "", "", "Seán O’Connor", Name{First: "sean", Last: "oconnor"}},
		{"hyphenated", "Mary-Jane", "Smith-Jones", "", Name{First: "mary-jane", AltFirst: "maryjane", Last: "smith-jones", AltLast: "smithjones"}},
		{"particle", "Ludwig", "van Beethoven", "", Name{First: "ludwig", Last: "vanbeethoven", AltLast: "beethoven"}},
		{"particles from full", "", "", "Maria de la Cruz", Name{First: "maria", Last: "delacruz", AltLast: "cruz"}},
		{"compound surname", "Gabriel", "García Márquez", "", Name{First: "gabriel", Last: "garciamarquez", AltLast: "garcia"}},
		{"two first names", "Mary Ann", "Smith", "", Name{First: "mary", AltFirst: "maryann", Last: "smith"}},
		{"full in first field", "Jane Doe", "", "", Name{First: "jane", Last: "doe"}},
		{"suffix in last", "John", "Smith Jr.", "", Name{First: "john", Last: "smith"}},
		{"title in first", "Dr. Jane", "Doe", "", Name{First: "jane", Last: "doe"}},
		{"first wins over full", "Jane", "Doe", "Someone Else", Name{First: "jane", Last: "doe"}},
		{"case", "JANE", "DOE", "", Name{First: "jane", Last: "doe"}},
		{"first only", "Cher", "", "", Name{First: "cher"}},
		{"last only", "", "Doe", "", Name{Last: "doe"}},
		{"non-latin dropped", "Иван", "Petrov", "", Name{Last: "petrov"}},
		{"nothing usable", "李", "王", "", Name{}},
		{"digits kept", "Jane2", "Doe", "", Name{First: "jane2", Last: "doe"}},
		{"stray hyphens", "-Jane-", "--Doe", "", Name{First: "jane", Last: "doe"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := NewName(tt.first, tt.last, tt.full); got != tt.want {
				t.Errorf("NewName(%q, %q, %q) = %+v; want %+v", tt.first, tt.last, tt.full, got, tt.want)
			}
		})
	}
}

func TestPriorsSumToOne(t *testing.T) {
	sum := 0.0
	prev := math.Inf(1)
	for _, p := range Patterns() {
		sum += p.Prior
		if p.Prior > prev {
			t.Errorf("patterns not in decreasing prior at %s", p.Name)
		}
		prev = p.Prior
	}
	if math.Abs(sum-1) > 0.01 {
		t.Errorf("priors sum to %.3f, want ~1", sum)
	}
	for _, name := range []string{"first.last", "flast", "first", "firstlast", "f.last", "last",
		"first_last", "firstl", "first.l", "lastf", "last.first", "last_first", "lastfirst",
		"f_last", "first-last"} {
		if Prior(name) == 0 {
			t.Errorf("pattern %s missing", name)
		}
	}
}

func TestApply(t *testing.T) {
	want := map[string]string{
		"first.last": "jane.doe", "flast": "jdoe", "first": "jane", "firstlast": "janedoe",
		"f.last": "j.doe", "last": "doe", "first_last": "jane_doe", "firstl": "janed",
		"first.l": "jane.d", "lastf": "doej", "last.first": "doe.jane", "last_first": "doe_jane",
		"lastfirst": "doejane", "f_last": "j_doe", "first-last": "jane-doe",
	}
	for _, p := range Patterns() {
		got, ok := Apply(p.Name, "jane", "doe")
		if !ok || got != want[p.Name] {
			t.Errorf("Apply(%s) = %q, %v; want %q", p.Name, got, ok, want[p.Name])
		}
	}
	if _, ok := Apply("first.last", "jane", ""); ok {
		t.Error("first.last without a last name should not apply")
	}
	if got, ok := Apply("first", "jane", ""); !ok || got != "jane" {
		t.Errorf("first without last = %q, %v", got, ok)
	}
	if got, ok := Apply("last", "", "doe"); !ok || got != "doe" {
		t.Errorf("last without first = %q, %v", got, ok)
	}
	if _, ok := Apply("nope", "jane", "doe"); ok {
		t.Error("unknown pattern applied")
	}
}

func emails(cs []Candidate) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.Email
	}
	return out
}

func TestCandidates(t *testing.T) {
	t.Run("ordered by prior", func(t *testing.T) {
		cs := Candidates("José", "Núñez", "https://www.Acme.com/about")
		got := emails(cs)
		want := []string{"jose.nunez@acme.com", "jnunez@acme.com", "jose@acme.com", "josenunez@acme.com", "j.nunez@acme.com"}
		if !slices.Equal(got[:len(want)], want) {
			t.Fatalf("top candidates = %v; want prefix %v", got, want)
		}
		if len(cs) != len(patterns) {
			t.Errorf("%d candidates; want one per pattern (%d)", len(cs), len(patterns))
		}
		for i := 1; i < len(cs); i++ {
			if cs[i].Prior > cs[i-1].Prior {
				t.Errorf("not sorted at %d: %v", i, cs)
			}
		}
		if cs[0].Pattern != "first.last" || cs[0].Prior != Prior("first.last") {
			t.Errorf("top = %+v", cs[0])
		}
	})
	t.Run("deduped", func(t *testing.T) {
		// first == last makes first and last, and firstlast and lastfirst, collide.
		cs := Candidates("Li", "Li", "acme.com")
		seen := map[string]bool{}
		for _, c := range cs {
			if seen[c.Email] {
				t.Errorf("duplicate %s", c.Email)
			}
			seen[c.Email] = true
		}
		if cs[0].Email != "li.li@acme.com" {
			t.Errorf("top = %s", cs[0].Email)
		}
	})
	t.Run("hyphenated names get both spellings", func(t *testing.T) {
		got := emails(Candidates("Mary-Jane", "Smith", "acme.com"))
		for _, want := range []string{"mary-jane.smith@acme.com", "maryjane.smith@acme.com", "msmith@acme.com"} {
			if !slices.Contains(got, want) {
				t.Errorf("missing %s in %v", want, got)
			}
		}
		if got[0] != "mary-jane.smith@acme.com" {
			t.Errorf("primary spelling should rank first: %v", got[:3])
		}
	})
	t.Run("particles", func(t *testing.T) {
		got := emails(Candidates("Ludwig", "van Beethoven", "acme.de"))
		if got[0] != "ludwig.vanbeethoven@acme.de" || !slices.Contains(got, "ludwig.beethoven@acme.de") {
			t.Errorf("got %v", got)
		}
	})
	t.Run("first name only", func(t *testing.T) {
		got := emails(Candidates("Cher", "", "acme.com"))
		if !slices.Equal(got, []string{"cher@acme.com"}) {
			t.Errorf("got %v", got)
		}
	})
	t.Run("IDN domain", func(t *testing.T) {
		got := emails(Candidates("Jane", "Doe", "Bücher.de"))
		if got[0] != "jane.doe@xn--bcher-kva.de" {
			t.Errorf("got %v", got[0])
		}
	})
	for _, tc := range []struct{ name, first, last, domain string }{
		{"bad domain", "Jane", "Doe", "not a domain"},
		{"no domain", "Jane", "Doe", ""},
		{"no name", "", "", "acme.com"},
		{"unusable name", "李", "王", "acme.com"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if cs := Candidates(tc.first, tc.last, tc.domain); cs != nil {
				t.Errorf("got %v; want nil", cs)
			}
		})
	}
}

func TestLearnPattern(t *testing.T) {
	k := func(email, first, last string) Known { return Known{Email: email, FirstName: first, LastName: last} }
	tests := []struct {
		name        string
		known       []Known
		pattern     string
		n           int
		minC, maxC  float64
		wantN       int // Evidence.N
		wantWeights map[string]float64
	}{
		{
			name:    "three agreeing flast",
			known:   []Known{k("jdoe@acme.com", "Jane", "Doe"), k("bsmith@acme.com", "Bob", "Smith"), k("ajones@acme.com", "Ann", "Jones")},
			pattern: "flast", n: 3, minC: 0.80, maxC: 0.81, wantN: 3, // (3 + 0.21) / 4
		},
		{
			name:    "one example",
			known:   []Known{k("Jane.Doe@acme.com", "Jane", "Doe")},
			pattern: "first.last", n: 1, minC: 0.67, maxC: 0.68, wantN: 1, // (1 + 0.355) / 2
		},
		{
			name: "mixed evidence",
			known: []Known{k("jane.doe@acme.com", "Jane", "Doe"), k("bob.smith@acme.com", "Bob", "Smith"),
				k("ajones@acme.com", "Ann", "Jones")},
			pattern: "first.last", n: 2, minC: 0.58, maxC: 0.59, wantN: 3, // (2 + 0.355) / 4
		},
		{
			name:    "diacritics and hyphens in known names",
			known:   []Known{k("jose.nunez@acme.es", "José", "Núñez"), k("maryjane.smith@acme.es", "Mary-Jane", "Smith")},
			pattern: "first.last", n: 2, minC: 0.78, maxC: 0.79, wantN: 2,
		},
		{
			name: "unexplained examples count against",
			known: []Known{k("jdoe@acme.com", "Jane", "Doe"), k("jane.m.doe@acme.com", "Jane", "Doe"),
				k("x123@acme.com", "Bob", "Smith")},
			pattern: "flast", n: 1, minC: 0.30, maxC: 0.31, wantN: 3, // (1 + 0.21) / 4
		},
		{
			name:    "ambiguous example splits by prior",
			known:   []Known{k("li@acme.com", "Li", "Li")},           // first or last
			pattern: "first", n: 1, minC: 0.52, maxC: 0.53, wantN: 1, // (0.889 + 0.16) / 2
			wantWeights: map[string]float64{"first": 0.16 / 0.18, "last": 0.02 / 0.18},
		},
		{
			name:  "role, unparseable and nameless ignored",
			known: []Known{k("info@acme.com", "Info", ""), k("not an email", "Jane", "Doe"), k("jane@acme.com", "", "")},
		},
		{name: "nothing"},
		{
			name:    "plus tag ignored",
			known:   []Known{k("jane.doe+crm@acme.com", "Jane", "Doe")},
			pattern: "first.last", n: 1, minC: 0.67, maxC: 0.68, wantN: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, c, n := LearnPattern(tt.known)
			if p != tt.pattern || n != tt.n || c < tt.minC || c > tt.maxC {
				t.Errorf("LearnPattern = %q, %.4f, %d; want %q, [%.2f, %.2f], %d", p, c, n, tt.pattern, tt.minC, tt.maxC, tt.n)
			}
			e := Learn(tt.known)
			if e.N != tt.wantN {
				t.Errorf("N = %d; want %d", e.N, tt.wantN)
			}
			for pat, w := range tt.wantWeights {
				if math.Abs(e.Weight[pat]-w) > 1e-9 {
					t.Errorf("Weight[%s] = %v; want %v", pat, e.Weight[pat], w)
				}
			}
		})
	}
}

func TestEvidenceCandidates(t *testing.T) {
	ev := Learn([]Known{
		{Email: "jdoe@acme.com", FirstName: "Jane", LastName: "Doe"},
		{Email: "bsmith@acme.com", FirstName: "Bob", LastName: "Smith"},
		{Email: "ajones@acme.com", FirstName: "Ann", LastName: "Jones"},
	})
	cs := ev.Candidates("Carl", "Weber", "acme.com")
	if cs[0].Email != "cweber@acme.com" || cs[0].Pattern != "flast" {
		t.Fatalf("learned pattern should rank first: %v", cs[:2])
	}
	if math.Abs(cs[0].Prior-ev.Share("flast")) > 1e-12 {
		t.Errorf("Prior = %v; want the learned share %v", cs[0].Prior, ev.Share("flast"))
	}
	if cs[1].Prior >= 0.1 {
		t.Errorf("runner-up should be far behind: %+v", cs[1])
	}
	// No evidence: identical to the survey ranking.
	if got, want := (Evidence{}).Candidates("Carl", "Weber", "acme.com"), Candidates("Carl", "Weber", "acme.com"); !slices.Equal(got, want) {
		t.Errorf("empty evidence changed the ranking:\n%v\n%v", got, want)
	}
}
