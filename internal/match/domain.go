package match

import (
	"net"
	"strings"

	"golang.org/x/net/idna"
	"golang.org/x/net/publicsuffix"
)

// webmailDomains are registrable domains of free mail providers: an address there says nothing
// about the company a person works for.
var webmailDomains = toSet(`
gmail.com googlemail.com yahoo.com ymail.com rocketmail.com outlook.com hotmail.com live.com
msn.com passport.com aol.com aim.com icloud.com me.com mac.com proton.me protonmail.com
protonmail.ch pm.me tutanota.com tutanota.de tuta.io tuta.com fastmail.com fastmail.fm hey.com
gmx.com gmx.net gmx.de gmx.at gmx.ch web.de t-online.de freenet.de posteo.de mailbox.org
mail.com email.com usa.com inbox.com zoho.eu yandex.com yandex.ru ya.ru mail.ru bk.ru
list.ru inbox.ru rambler.ru qq.com foxmail.com 163.com 126.com yeah.net sina.com sina.cn sohu.com
aliyun.com 139.com naver.com hanmail.net daum.net rediffmail.com orange.fr wanadoo.fr free.fr
laposte.net sfr.fr libero.it virgilio.it tiscali.it alice.it seznam.cz wp.pl o2.pl interia.pl
onet.pl comcast.net verizon.net att.net sbcglobal.net bellsouth.net cox.net charter.net
earthlink.net juno.com btinternet.com sky.com virginmedia.com ntlworld.com talktalk.net
shaw.ca rogers.com sympatico.ca bigpond.com optusnet.com.au xtra.co.nz telstra.com
terra.com.br bol.com.br uol.com.br ig.com.br`)

// webmailBrands are providers that register the same name under many country domains
// (yahoo.co.uk, hotmail.fr, gmx.ch); the label before the public suffix identifies them.
var webmailBrands = toSet(`gmail googlemail yahoo ymail hotmail outlook live aol gmx yandex
protonmail icloud`)

// NormalizeDomain returns the registrable domain (eTLD+1, from the Public Suffix List via
// golang.org/x/net/publicsuffix) of an email address, URL or host name:
// "Jane@Mail.Acme.co.uk" and "https://www.acme.co.uk/about" both give "acme.co.uk".
// Free-mail domains (gmail.com, yahoo.co.uk, mail.ru, qq.com, ...) and anything that is not a
// public domain name (IP addresses, "localhost", bare suffixes) give "". Idempotent.
func NormalizeDomain(s string) string {
	host := hostOf(s)
	if host == "" {
		return ""
	}
	d, err := publicsuffix.EffectiveTLDPlusOne(host)
	if err != nil {
		return ""
	}
	if IsWebmail(d) {
		return ""
	}
	return d
}

// IsWebmail reports whether the registrable domain of s (an address, URL or host) belongs to a
// free mail provider.
func IsWebmail(s string) bool {
	host := hostOf(s)
	if host == "" {
		return false
	}
	d, err := publicsuffix.EffectiveTLDPlusOne(host)
	if err != nil {
		return false
	}
	if webmailDomains[d] {
		return true
	}
	label, _, _ := strings.Cut(d, ".")
	return webmailBrands[label]
}

// hostOf extracts a lower-case ASCII host name from an email address, URL or bare host.
func hostOf(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return ""
	}
	s = strings.TrimPrefix(strings.ToLower(s), "mailto:")
	if i := strings.LastIndexByte(s, '@'); i >= 0 {
		s = s[i+1:]
	}
	if i := strings.Index(s, "://"); i >= 0 {
		s = s[i+3:]
	}
	if i := strings.IndexAny(s, "/?#\\ \t"); i >= 0 {
		s = s[:i]
	}
	if h, _, err := net.SplitHostPort(s); err == nil {
		s = h
	}
	s = strings.Trim(s, ".[]<>\"'(),;:")
	if s == "" || net.ParseIP(s) != nil || !strings.Contains(s, ".") {
		return ""
	}
	if !isASCII(s) {
		a, err := idna.Lookup.ToASCII(s)
		if err != nil {
			return ""
		}
		s = a
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_') {
			return ""
		}
	}
	if strings.Contains(s, "..") {
		return ""
	}
	return s
}

// NormalizeEmail returns a trimmed, lower-cased address, or "" when s is not one
// (no "@", empty local part or no domain with a dot). Idempotent.
func NormalizeEmail(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	s = strings.TrimPrefix(s, "mailto:")
	s = strings.Trim(s, "<>\"' ")
	at := strings.LastIndexByte(s, '@')
	if at <= 0 || at == len(s)-1 {
		return ""
	}
	local, host := s[:at], s[at+1:]
	if strings.ContainsAny(local, " \t@") || hostOf(host) != host {
		return ""
	}
	return local + "@" + host
}
