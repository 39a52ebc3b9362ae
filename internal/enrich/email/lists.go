package email

import (
	"strings"

	"golang.org/x/net/publicsuffix"
)

// Flags classify an address; none of them makes it undeliverable by itself.
type Flags struct {
	Webmail    bool `json:"webmail"`    // consumer mailbox provider: never a company domain
	Disposable bool `json:"disposable"` // throwaway-address provider
	Role       bool `json:"role"`       // shared mailbox (info@, sales@), not a person
}

// FlagsOf classifies a parsed address.
func FlagsOf(a Address) Flags {
	return Flags{Webmail: IsWebmail(a.Domain), Disposable: IsDisposable(a.Domain), Role: IsRole(a.Local)}
}

// IsWebmail reports whether domain (or the registrable domain it belongs to) is a consumer
// mailbox provider. Such domains are never a company's domain.
func IsWebmail(domain string) bool { return inList(domain, webmailDomains, webmailBrands) }

// IsDisposable reports whether domain belongs to a throwaway-address provider.
func IsDisposable(domain string) bool { return inList(domain, disposableDomains, disposableBrands) }

// IsRole reports whether a local part names a shared function rather than a person. Case,
// a +tag and the separators . - _ are ignored, so "No-Reply+x" matches "noreply".
func IsRole(local string) bool {
	l := strings.ToLower(local)
	if i := strings.IndexByte(l, '+'); i > 0 {
		l = l[:i]
	}
	l = strings.NewReplacer(".", "", "-", "", "_", "").Replace(l)
	return roleLocals[l]
}

// inList matches the domain, its registrable domain (eTLD+1, so mail.yahoo.co.uk matches
// yahoo.co.uk) and, for brands that register one name under many TLDs (yahoo.*, gmx.*), the
// label left of the public suffix.
func inList(domain string, exact, brands map[string]bool) bool {
	d := strings.TrimSuffix(strings.ToLower(strings.TrimSpace(domain)), ".")
	if exact[d] {
		return true
	}
	reg, err := publicsuffix.EffectiveTLDPlusOne(d)
	if err != nil {
		return false
	}
	if exact[reg] {
		return true
	}
	brand, _, _ := strings.Cut(reg, ".")
	return brands[brand]
}

// webmailBrands register the same consumer service under many country TLDs.
var webmailBrands = setOf("yahoo", "hotmail", "outlook", "gmx", "yandex", "aol")

// webmailDomains is a curated list of the major consumer providers worldwide (global, US/UK
// ISPs, Europe, Russia, China, Korea, Japan, Brazil, India), not an exhaustive one.
var webmailDomains = setOf(
	// Global
	"gmail.com", "googlemail.com", "outlook.com", "hotmail.com", "live.com", "msn.com",
	"passport.com", "windowslive.com", "live.co.uk", "live.fr", "live.de", "live.it", "live.nl",
	"live.ca", "live.com.au", "live.be", "live.se", "live.dk", "live.no", "live.jp",
	"live.com.mx", "live.cn", "yahoo.com", "ymail.com", "rocketmail.com", "aol.com", "aim.com",
	"icloud.com", "me.com", "mac.com", "proton.me", "protonmail.com", "protonmail.ch", "pm.me",
	"zoho.com", "zohomail.com", "zohomail.eu", "fastmail.com", "fastmail.fm", "hey.com",
	"tutanota.com", "tutanota.de", "tuta.io", "tuta.com", "tutamail.com", "keemail.me",
	"mail.com", "email.com", "usa.com", "post.com", "hushmail.com", "lycos.com", "inbox.com",
	"mailbox.org", "posteo.de", "posteo.net", "runbox.com", "disroot.org", "skiff.com",
	// US/UK/Canada/Australia ISPs
	"comcast.net", "verizon.net", "att.net", "sbcglobal.net", "bellsouth.net", "cox.net",
	"charter.net", "earthlink.net", "optonline.net", "frontier.com", "juno.com", "netzero.net",
	"btinternet.com", "sky.com", "virginmedia.com", "ntlworld.com", "talktalk.net",
	"blueyonder.co.uk", "shaw.ca", "rogers.com", "sympatico.ca", "videotron.ca",
	"bigpond.com", "bigpond.net.au", "optusnet.com.au", "iinet.net.au",
	// Europe
	"web.de", "gmx.net", "gmx.de", "t-online.de", "freenet.de", "arcor.de", "orange.fr",
	"wanadoo.fr", "free.fr", "laposte.net", "sfr.fr", "neuf.fr", "libero.it", "virgilio.it",
	"tiscali.it", "alice.it", "tin.it", "seznam.cz", "centrum.cz", "wp.pl", "o2.pl", "onet.pl",
	"interia.pl", "op.pl", "telenet.be", "skynet.be", "ziggo.nl", "kpnmail.nl", "home.nl",
	"planet.nl", "bluewin.ch", "terra.es", "sapo.pt", "abv.bg", "freemail.hu", "inbox.lv",
	// Russia and CIS
	"mail.ru", "inbox.ru", "list.ru", "bk.ru", "internet.ru", "rambler.ru", "ya.ru", "ukr.net",
	// Asia
	"qq.com", "foxmail.com", "163.com", "126.com", "yeah.net", "sina.com", "sina.cn",
	"sohu.com", "aliyun.com", "139.com", "naver.com", "daum.net", "hanmail.net", "nate.com",
	"docomo.ne.jp", "ezweb.ne.jp", "softbank.ne.jp", "rediffmail.com",
	// Latin America
	"bol.com.br", "uol.com.br", "terra.com.br", "ig.com.br", "globo.com", "prodigy.net.mx",
)

// disposableBrands run throwaway services under many TLDs.
var disposableBrands = setOf("guerrillamail", "trashmail", "yopmail", "mailinator",
	"10minutemail", "tempmail", "temp-mail")

// disposableDomains follows the public-domain (CC0) disposable-email-domains project
// (github.com/disposable-email-domains/disposable-email-domains): a subset of its list, the
// services seen most often in sign-up and lead forms. The project's full list has thousands of
// entries and changes weekly; loading it from configuration is the way to extend this.
var disposableDomains = setOf(
	"mailinator.com", "mailinator.net", "mailinator2.com", "guerrillamail.com",
	"guerrillamail.net", "guerrillamail.org", "guerrillamail.biz", "guerrillamail.de",
	"guerrillamail.info", "guerrillamailblock.com", "grr.la", "sharklasers.com", "pokemail.net",
	"spam4.me", "10minutemail.com", "10minutemail.net", "20minutemail.com", "yopmail.com",
	"yopmail.fr", "yopmail.net", "temp-mail.org", "temp-mail.io", "tempmail.com",
	"tempmail.net", "tempmailo.com", "tempr.email", "tempail.com", "tempinbox.com",
	"trashmail.com", "trashmail.de", "trashmail.net", "trashmail.me", "trashmail.io",
	"trash-mail.com", "mytrashmail.com", "getnada.com", "nada.email", "dispostable.com",
	"maildrop.cc", "mailnesia.com", "mailcatch.com", "mailnull.com", "mailpoof.com",
	"mintemail.com", "mohmal.com", "moakt.com", "mytemp.email", "throwawaymail.com",
	"fakeinbox.com", "fakemail.net", "emailfake.com", "fakemailgenerator.com", "armyspy.com",
	"cuvox.de", "dayrep.com", "einrot.com", "fleckens.hu", "gustr.com", "jourrapide.com",
	"rhyta.com", "superrito.com", "teleworm.us", "discard.email", "discardmail.com",
	"dropmail.me", "emailondeck.com", "getairmail.com", "33mail.com", "anonbox.net",
	"burnermail.io", "harakirimail.com", "incognitomail.org", "inboxkitten.com", "jetable.org",
	"spambox.us", "spamgourmet.com", "mailexpire.com", "mailforspam.com", "wegwerfmail.de",
	"wegwerfemail.de", "1secmail.com", "1secmail.net", "1secmail.org", "mail.tm",
	"tempmailaddress.com", "spamdecoy.net", "mvrht.com", "0-mail.com",
)

// roleLocals are shared mailboxes, written without separators (see IsRole).
var roleLocals = setOf(
	"info", "information", "sales", "support", "admin", "administrator", "contact", "contactus",
	"hello", "hi", "hey", "billing", "accounts", "accounting", "accountspayable",
	"accountsreceivable", "ap", "ar", "finance", "invoice", "invoices", "office", "team",
	"marketing", "hr", "humanresources", "jobs", "careers", "career", "recruiting",
	"recruitment", "talent", "hiring", "noreply", "donotreply", "notifications", "notification",
	"postmaster", "hostmaster", "abuse", "webmaster", "help", "helpdesk", "servicedesk",
	"enquiries", "enquiry", "inquiries", "inquiry", "press", "media", "pr", "news",
	"newsletter", "legal", "privacy", "security", "compliance", "gdpr", "dpo", "orders",
	"order", "service", "services", "customerservice", "customercare", "customersuccess",
	"care", "feedback", "partners", "partnerships", "purchasing", "procurement", "reception",
	"frontdesk", "root", "sysadmin", "it", "devops", "ops", "operations", "all", "everyone",
	"staff", "investors", "ir", "bookings", "booking", "reservations", "events", "social",
	"shop", "store", "mail", "email", "general", "mailer-daemon", "mailerdaemon", "bounce",
	"bounces", "list", "lists", "subscribe", "unsubscribe", "tech", "technical", "dev",
	"developers", "api", "demo", "trial", "welcome", "membership", "members", "community",
	"donations", "volunteer", "studio", "design", "editor", "editorial", "newsroom", "desk",
	"kontakt", "vertrieb", "contacto", "ventas", "bonjour", "accueil",
)
