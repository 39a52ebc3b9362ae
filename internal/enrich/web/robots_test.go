package web

import (
	"testing"
)

func TestRobotsMatch(t *testing.T) {
	for _, tc := range []struct {
		pattern, path string
		want          bool
	}{
		{"/", "/", true},
		{"/", "/anything", true},
		{"/fish", "/fish", true},
		{"/fish", "/fish.html", true},
		{"/fish", "/fish/salmon.html", true},
		{"/fish", "/Fish.asp", false}, // case-sensitive
		{"/fish", "/catfish", false},
		{"/fish/", "/fish", false},
		{"/fish*", "/fishheads", true},
		{"/*.php", "/index.php", true},
		{"/*.php", "/folder/filename.php?parameters", true},
		{"/*.php", "/windows.PHP", false},
		{"/*.php$", "/filename.php", true},
		{"/*.php$", "/filename.php?parameters", false},
		{"/*.php$", "/filename.php5", false},
		{"/fish*.php", "/fishheads/catfish.php?parameters", true},
		{"/fish*.php", "/Fish.PHP", false},
		{"/*", "/x", true},
		{"*", "/x", true},
		{"/$", "/", true},
		{"/$", "/x", false},
		{"/a*b*c$", "/aXbYc", true},
		{"/a*b*c$", "/aXbYcZ", false},
		{"/a*b*c", "/abbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbx", false},
		{"/**/x", "/a/b/x", true},
		{"/path?q=1", "/path?q=1&r=2", true},
		{"/path?q=1", "/path?q=2", false},
	} {
		if got := robotsMatch(normEscapes(tc.pattern), normEscapes(tc.path)); got != tc.want {
			t.Errorf("robotsMatch(%q, %q) = %v, want %v", tc.pattern, tc.path, got, tc.want)
		}
	}
}

func TestParseRobots(t *testing.T) {
	const ua = "LanternBot"
	for _, tc := range []struct {
		name, robots, path string
		want               bool
	}{
		{"empty file", "", "/x", true},
		{"disallow all", "User-agent: *\nDisallow: /", "/x", false},
		{"robots.txt itself is not special here", "User-agent: *\nDisallow: /", "/", false},
		{"empty disallow allows", "User-agent: *\nDisallow:", "/x", true},
		{"our group wins over *", "User-agent: *\nDisallow: /\n\nUser-agent: LanternBot\nAllow: /", "/x", true},
		{"our group, case-insensitive", "User-agent: *\nAllow: /\n\nuser-agent: lanternbot\ndisallow: /", "/x", false},
		{"version in group name", "User-agent: LanternBot/2.0\nDisallow: /", "/x", false},
		{"other bots' groups ignored", "User-agent: OtherBot\nDisallow: /", "/x", true},
		{"prefix of our name is not us", "User-agent: Lantern\nDisallow: /", "/x", true},
		{"longest match wins", "User-agent: *\nDisallow: /a\nAllow: /a/b", "/a/b/c", true},
		{"longest match wins (disallow)", "User-agent: *\nAllow: /a\nDisallow: /a/b", "/a/b/c", false},
		{"allow wins a tie", "User-agent: *\nDisallow: /page\nAllow: /page", "/page", true},
		{"allow wins a tie with wildcards", "User-agent: *\nDisallow: /*.html\nAllow: /page*l", "/page.html", true},
		{"no match allows", "User-agent: *\nDisallow: /private", "/public", true},
		{"groups for us merge", "User-agent: LanternBot\nDisallow: /a\n\nUser-agent: LanternBot\nDisallow: /b", "/b", false},
		{"shared group", "User-agent: OtherBot\nUser-agent: LanternBot\nDisallow: /shared", "/shared/x", false},
		{"rules before any user-agent ignored", "Disallow: /\nUser-agent: *\nAllow: /", "/x", true},
		{"comments and blanks", "# hello\nUser-agent: * # everyone\n\nDisallow: /x # no\n", "/x/y", false},
		{"sitemap does not end a group", "User-agent: *\nSitemap: https://a/s.xml\nDisallow: /x", "/x", false},
		{"crawl-delay inside a group", "User-agent: LanternBot\nCrawl-delay: 5\nDisallow: /x", "/x", false},
		{"CRLF", "User-agent: *\r\nDisallow: /x\r\n", "/x", false},
		{"BOM", "\ufeffUser-agent: *\nDisallow: /x", "/x", false},
		{"percent-encoding normalised", "User-agent: *\nDisallow: /%7ejoe", "/~joe/index.html", false},
		{"escaped hex case", "User-agent: *\nDisallow: /a%2fb", "/a%2Fb", false},
		{"non-ASCII pattern", "User-agent: *\nDisallow: /café", "/caf%C3%A9/menu", false},
		{"query in rule", "User-agent: *\nDisallow: /*?sessionid=", "/page?sessionid=1", false},
		{"anchored", "User-agent: *\nDisallow: /*.pdf$", "/doc.pdf?x=1", true},
		{"no colon line", "User-agent *\nDisallow /", "/x", true},
		{"typo dissallow", "User-agent: *\nDissallow: /x", "/x", false},
	} {
		g := parseRobots([]byte(tc.robots), ua)
		if got := g.allowed(tc.path); got != tc.want {
			t.Errorf("%s: allowed(%q) = %v, want %v\n%s", tc.name, tc.path, got, tc.want, tc.robots)
		}
	}
}

// FuzzRobots: any robots.txt and path parse and match without panicking, /robots.txt rules are
// applied consistently, and an empty pattern set allows.
func FuzzRobots(f *testing.F) {
	f.Add([]byte("User-agent: *\nDisallow: /\n"), "/x")
	f.Add([]byte("User-agent: LanternBot\nAllow: /a*b$\nDisallow: /a\n"), "/axxb")
	f.Add([]byte("User-agent: *\nDisallow: /%7e%zz%\nAllow: /*$\n"), "/%7E")
	f.Add([]byte("\ufeffuser-agent:lanternbot/1.0\r\ndisallow:*\r\n"), "/")
	f.Add([]byte("User-agent: *\nDisallow: /a*a*a*a*a*a*a*a*a*a*b\n"), "/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")
	f.Fuzz(func(t *testing.T, robots []byte, path string) {
		g := parseRobots(robots, "LanternBot")
		a := g.allowed(path)
		if b := g.allowed(path); a != b {
			t.Fatalf("allowed(%q) is not deterministic", path)
		}
		for _, r := range g.rules {
			if r.pattern == "" {
				t.Fatalf("empty pattern kept: %+v", r)
			}
			if !robotsMatch(r.pattern, r.pattern) && !containsMeta(r.pattern) {
				t.Fatalf("pattern %q does not match itself", r.pattern)
			}
		}
		if len(g.rules) == 0 && !a {
			t.Fatalf("no rules but %q disallowed", path)
		}
	})
}

func containsMeta(p string) bool {
	for i := 0; i < len(p); i++ {
		if p[i] == '*' || p[i] == '$' {
			return true
		}
	}
	return false
}
