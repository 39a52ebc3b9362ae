package web

import (
	"context"
	"errors"
	"fmt"
	"mime"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/net/idna"
	"golang.org/x/net/publicsuffix"
	"golang.org/x/text/language"
)

// Methods say how a value was found (Fact.Method).
const (
	MethodJSONLD     = "json-ld"     // schema.org JSON-LD
	MethodOpenGraph  = "opengraph"   // og: meta properties
	MethodMeta       = "meta"        // <meta name="description">
	MethodTitle      = "title"       // <title>
	MethodTelLink    = "tel-link"    // <a href="tel:...">
	MethodMailtoLink = "mailto-link" // <a href="mailto:...">
	MethodHTMLLang   = "html-lang"   // <html lang>
	MethodAnchor     = "anchor"      // a profile link in <a href>
	MethodHeader     = "http-header" // Content-Language (header or http-equiv)
)

// Page kinds in Company.Pages.
const (
	PageHome    = "home"
	PageAbout   = "about"
	PageContact = "contact"
)

// Fact is one extracted value with its provenance: the page it was read from and how.
type Fact[T any] struct {
	Value  T      `json:"value"`
	URL    string `json:"url"`
	Method string `json:"method"`
}

// Company is what a company's own website says about it. Single-valued fields are nil when
// nothing was found; when several sources give one, JSON-LD wins over OpenGraph, which wins
// over <meta> and <title>. Lists are deduplicated, JSON-LD values first.
type Company struct {
	Site   string `json:"site"`   // the site asked for, normalised (see NormalizeSite)
	Domain string `json:"domain"` // its registrable domain (eTLD+1)
	URL    string `json:"url"`    // the home page's final URL, after redirects

	Name         *Fact[string]    `json:"name,omitempty"`
	LegalName    *Fact[string]    `json:"legal_name,omitempty"`
	Description  *Fact[string]    `json:"description,omitempty"`
	Type         *Fact[string]    `json:"type,omitempty"`          // schema.org @type, else og:type
	CanonicalURL *Fact[string]    `json:"canonical_url,omitempty"` // JSON-LD url, else og:url
	Logo         *Fact[string]    `json:"logo,omitempty"`
	Image        *Fact[string]    `json:"image,omitempty"` // og:image
	Address      *Fact[Address]   `json:"address,omitempty"`
	FoundingDate *Fact[string]    `json:"founding_date,omitempty"`
	Employees    *Fact[Employees] `json:"employees,omitempty"`
	Language     *Fact[string]    `json:"language,omitempty"` // BCP 47, e.g. en-US

	Phones []Fact[string]        `json:"phones,omitempty"` // as written; deduplicated by digits
	Emails []Fact[string]        `json:"emails,omitempty"` // lower-cased
	Social []Fact[SocialProfile] `json:"social,omitempty"`
	SameAs []Fact[string]        `json:"same_as,omitempty"` // every JSON-LD sameAs URL, as given

	Verification Verification `json:"website_verified"`
	Pages        []PageResult `json:"pages"` // every page requested, in order
}

// Verification says whether the website is believed to be the company's.
type Verification struct {
	// Verified is Resolves && TLSValid && StaysOnDomain && (NameMatches, when a name was
	// given), and the home page answered 2xx with HTML.
	Verified bool `json:"verified"`
	// Resolves: the host the home page was requested from (the site, or www.<site> after the
	// fallback) resolves through Config.LookupIP.
	Resolves bool `json:"resolves"`
	// TLSValid: the home page was served over https with a verified certificate chain.
	TLSValid bool `json:"tls_valid"`
	// StaysOnDomain: the final home page URL has the registrable domain of the site asked for.
	StaysOnDomain bool `json:"stays_on_domain"`
	// NameMatches: the expected name agrees with a name the site gives (see NameMatches); nil
	// when no name was given.
	NameMatches *bool     `json:"name_matches,omitempty"`
	CheckedAt   time.Time `json:"checked_at"`
	Reasons     []string  `json:"reasons,omitempty"` // why not verified
}

// PageResult records one page request made by Company.
type PageResult struct {
	Kind        string    `json:"kind"` // PageHome, PageAbout or PageContact
	URL         string    `json:"url"`  // as requested
	FinalURL    string    `json:"final_url,omitempty"`
	Status      int       `json:"status,omitempty"`
	ContentType string    `json:"content_type,omitempty"`
	Used        bool      `json:"used"`            // values were extracted from it
	Err         error     `json:"-"`               // the fetch error, for errors.Is
	Error       string    `json:"error,omitempty"` // Err's text
	Data        *PageData `json:"-"`               // what was extracted, when Used
}

func (r *PageResult) setErr(err error) {
	r.Err, r.Error = err, err.Error()
}

// Company reads what site says about the company behind it. site is a domain ("acme.com"), a
// host ("www.acme.com:8443") or a URL (only its host and port are used). name, optional, is the
// company name the caller expects; it is checked against the site (Verification.NameMatches).
//
// The home page is fetched over https, then over plain http only if https fails to connect
// (ErrConnect: refused, unresolvable, TLS handshake or certificate failure). For a bare domain
// whose both attempts fail to connect, www.<domain> is tried the same way. Then /about (else
// /about-us) and /contact (else /contact-us) are fetched in parallel on the host the home page
// ended on; they are used when they answer 200 with HTML and stay on that domain, and their
// failures are only recorded in Pages.
//
// A redirect to another domain is not an error: Company follows it, extracts, and reports it
// in Verification. A home page that is not 2xx HTML is not an error either (nothing is
// extracted, Verification says why). Errors: ErrInvalidURL, ErrUnsupportedScheme for a bad site;
// for the home page ErrBlockedAddress, ErrDisallowedByRobots, ErrTooManyRedirects, ErrConnect,
// and time-outs (context.DeadlineExceeded). Each page request has its own Config.Timeout; bound
// the whole call with ctx.
func (f *Fetcher) Company(ctx context.Context, site, name string) (*Company, error) {
	host, err := NormalizeSite(site)
	if err != nil {
		return nil, err
	}
	c := &Company{Site: host, Domain: registrableDomain(hostname(host))}

	hr, err := f.fetchHome(ctx, c, host)
	if err != nil {
		return nil, err
	}
	home := hr.page
	c.URL = home.URL
	homeURL, err := url.Parse(home.URL)
	if err != nil { // cannot happen: Get returns URLs it parsed
		return nil, fmt.Errorf("%w: %v", ErrInvalidURL, err)
	}
	homeOK := home.Status >= 200 && home.Status < 300 && isHTML(home)
	var homeData *PageData
	if homeOK {
		homeData = Extract(home)
		c.Pages[len(c.Pages)-1].Used = true
		c.Pages[len(c.Pages)-1].Data = homeData
	}

	var (
		wg       sync.WaitGroup
		extras   [2][]PageResult
		resolves bool
	)
	wg.Go(func() { resolves = f.resolves(ctx, hostname(hr.host)) })
	if homeOK {
		for i, spec := range []struct {
			kind  string
			paths []string
		}{{PageAbout, []string{"/about", "/about-us"}}, {PageContact, []string{"/contact", "/contact-us"}}} {
			wg.Go(func() { extras[i] = f.fetchExtra(ctx, homeURL, spec.kind, spec.paths) })
		}
	}
	wg.Wait()
	c.Pages = append(c.Pages, extras[0]...)
	c.Pages = append(c.Pages, extras[1]...)

	var used []*PageData
	for _, p := range c.Pages {
		if p.Used {
			used = append(used, p.Data)
		}
	}
	orgs := c.merge(homeData, used, homeURL)
	c.verify(f.now(), name, home, homeOK, homeURL, resolves, hr.httpsErr, homeData, orgs)
	return c, nil
}

// homeResult is the home page, the host it was requested from and the https connection error
// that made Company fall back to http, if any (for Verification.Reasons).
type homeResult struct {
	page     *Page
	host     string
	httpsErr error
}

// fetchHome tries https then http on host, then on www.host for a bare domain.
func (f *Fetcher) fetchHome(ctx context.Context, c *Company, host string) (homeResult, error) {
	hosts := []string{host}
	if h := hostname(host); h == c.Domain && !strings.HasPrefix(h, "www.") {
		if _, err := netip.ParseAddr(h); err != nil {
			hosts = append(hosts, "www."+host)
		}
	}
	var httpsErr, lastErr error
	for _, h := range hosts {
		for _, scheme := range []string{"https", "http"} {
			pr := PageResult{Kind: PageHome, URL: scheme + "://" + h + "/"}
			p, err := f.Get(ctx, pr.URL)
			if err != nil {
				pr.setErr(err)
				c.Pages = append(c.Pages, pr)
				if !errors.Is(err, ErrConnect) || ctx.Err() != nil {
					return homeResult{}, err
				}
				if scheme == "https" && httpsErr == nil {
					httpsErr = err
				}
				lastErr = err
				continue
			}
			pr.FinalURL, pr.Status, pr.ContentType = p.URL, p.Status, p.Header.Get("Content-Type")
			c.Pages = append(c.Pages, pr)
			return homeResult{page: p, host: h, httpsErr: httpsErr}, nil
		}
	}
	return homeResult{}, lastErr
}

// fetchExtra fetches the first of paths, on the home page's origin, that is a usable HTML page.
func (f *Fetcher) fetchExtra(ctx context.Context, home *url.URL, kind string, paths []string) []PageResult {
	var out []PageResult
	for _, path := range paths {
		ref := &url.URL{Scheme: home.Scheme, Host: home.Host, Path: path}
		pr := PageResult{Kind: kind, URL: ref.String()}
		p, err := f.Get(ctx, pr.URL)
		if err != nil {
			pr.setErr(err)
			out = append(out, pr)
			if ctx.Err() != nil {
				break
			}
			continue
		}
		pr.FinalURL, pr.Status, pr.ContentType = p.URL, p.Status, p.Header.Get("Content-Type")
		final, _ := url.Parse(p.URL)
		// A page that redirects to the home page (common for missing pages) or off the site
		// would only repeat or pollute what we have.
		if p.Status == 200 && isHTML(p) && final != nil && !sameResource(final, home) &&
			registrableDomain(final.Hostname()) == registrableDomain(home.Hostname()) {
			pr.Used = true
			pr.Data = Extract(p)
			out = append(out, pr)
			break
		}
		out = append(out, pr)
	}
	return out
}

func (f *Fetcher) resolves(ctx context.Context, host string) bool {
	if _, err := netip.ParseAddr(host); err == nil {
		return true
	}
	ctx, cancel := context.WithTimeout(ctx, f.cfg.Timeout)
	defer cancel()
	ips, err := f.cfg.LookupIP(ctx, host)
	return err == nil && len(ips) > 0
}

// orgRef is an organisation and the page it was found on.
type orgRef struct {
	org *Organization
	url string
}

// merge fills c's facts from the used pages (home first). OpenGraph, <meta> and <title> are read
// from the home page only: on /about and /contact they describe those pages, not the company.
// It returns the JSON-LD organisations taken to be the company's, best first.
func (c *Company) merge(home *PageData, pages []*PageData, homeURL *url.URL) []orgRef {
	homePage := ""
	if home != nil {
		homePage = home.URL
	}
	orgs := companyOrgs(pages, homePage, c.Domain, registrableDomain(homeURL.Hostname()))

	str := func(get func(*Organization) string) *Fact[string] {
		for _, o := range orgs {
			if v := get(o.org); v != "" {
				return &Fact[string]{Value: v, URL: o.url, Method: MethodJSONLD}
			}
		}
		return nil
	}
	fact := func(v, url, method string) *Fact[string] {
		if v == "" {
			return nil
		}
		return &Fact[string]{Value: v, URL: url, Method: method}
	}
	or := func(fs ...*Fact[string]) *Fact[string] {
		for _, f := range fs {
			if f != nil {
				return f
			}
		}
		return nil
	}
	var og OpenGraph
	var hu, title, desc string
	if home != nil {
		og, hu, title, desc = home.OpenGraph, home.URL, home.Title, home.Description
	}
	label := domainLabel(c.Domain)

	c.Name = or(str(func(o *Organization) string { return o.Name }),
		fact(og.SiteName, hu, MethodOpenGraph),
		fact(nameFromTitle(og.Title, label), hu, MethodOpenGraph),
		fact(nameFromTitle(title, label), hu, MethodTitle))
	c.LegalName = str(func(o *Organization) string { return o.LegalName })
	c.Description = or(str(func(o *Organization) string { return o.Description }),
		fact(og.Description, hu, MethodOpenGraph),
		fact(desc, hu, MethodMeta))
	c.Type = or(str(func(o *Organization) string { return o.Type }), fact(og.Type, hu, MethodOpenGraph))
	c.CanonicalURL = or(str(func(o *Organization) string { return o.URL }), fact(og.URL, hu, MethodOpenGraph))
	c.Logo = str(func(o *Organization) string { return o.Logo })
	c.Image = fact(og.Image, hu, MethodOpenGraph)
	c.FoundingDate = str(func(o *Organization) string { return o.FoundingDate })
	for _, o := range orgs {
		if c.Address == nil && o.org.Address != nil {
			c.Address = &Fact[Address]{Value: *o.org.Address, URL: o.url, Method: MethodJSONLD}
		}
		if c.Employees == nil && o.org.Employees != nil {
			c.Employees = &Fact[Employees]{Value: *o.org.Employees, URL: o.url, Method: MethodJSONLD}
		}
	}
	if home != nil {
		c.Language = or(fact(canonicalLanguage(home.Lang), hu, MethodHTMLLang),
			fact(canonicalLanguage(og.Locale), hu, MethodOpenGraph),
			fact(canonicalLanguage(home.ContentLanguage), hu, MethodHeader))
	}

	phones, emails, social, sameAs := map[string]bool{}, map[string]bool{}, map[string]bool{}, map[string]bool{}
	addPhone := func(v, url, method string) {
		if k := phoneKey(v); k != "" && !phones[k] {
			phones[k] = true
			c.Phones = append(c.Phones, Fact[string]{Value: v, URL: url, Method: method})
		}
	}
	addEmail := func(v, url, method string) {
		if !emails[v] {
			emails[v] = true
			c.Emails = append(c.Emails, Fact[string]{Value: v, URL: url, Method: method})
		}
	}
	addSocial := func(sp SocialProfile, url, method string) {
		if k := socialKey(sp); !social[k] {
			social[k] = true
			c.Social = append(c.Social, Fact[SocialProfile]{Value: sp, URL: url, Method: method})
		}
	}
	for _, o := range orgs {
		for _, p := range o.org.Telephones {
			addPhone(p, o.url, MethodJSONLD)
		}
		for _, e := range o.org.Emails {
			addEmail(e, o.url, MethodJSONLD)
		}
		for _, s := range o.org.SameAs {
			if !sameAs[s] {
				sameAs[s] = true
				c.SameAs = append(c.SameAs, Fact[string]{Value: s, URL: o.url, Method: MethodJSONLD})
			}
			if sp, ok := socialProfile(s); ok {
				addSocial(sp, o.url, MethodJSONLD)
			}
		}
	}
	for _, p := range pages {
		for _, v := range p.Phones {
			addPhone(v, p.URL, MethodTelLink)
		}
		for _, v := range p.Emails {
			addEmail(v, p.URL, MethodMailtoLink)
		}
		for _, v := range p.Social {
			addSocial(v, p.URL, MethodAnchor)
		}
	}
	return orgs
}

// companyOrgs picks, among the JSON-LD organisations of all pages, the one that is the site's
// own (its url on the site's domain, an @id like ".../#organization", top level, on the home
// page), then adds the others that are the same organisation (same @id, same name, or url on
// the domain). Others (partners, publishers of quoted articles) are left out.
func companyOrgs(pages []*PageData, homePage string, domains ...string) []orgRef {
	var all []orgRef
	for _, p := range pages {
		for i := range p.Organizations {
			all = append(all, orgRef{org: &p.Organizations[i], url: p.URL})
		}
	}
	if len(all) == 0 {
		return nil
	}
	onDomain := func(o *Organization) bool {
		if o.URL == "" {
			return false
		}
		u, err := url.Parse(o.URL)
		if err != nil {
			return false
		}
		d := registrableDomain(u.Hostname())
		for _, want := range domains {
			if d == want {
				return true
			}
		}
		return false
	}
	score := func(i int) int {
		o := all[i].org
		s := -4 * o.depth
		if onDomain(o) {
			s += 8
		}
		if strings.HasSuffix(strings.ToLower(o.ID), "organization") {
			s += 2
		}
		if all[i].url == homePage {
			s++
		}
		return s
	}
	best := 0
	for i := 1; i < len(all); i++ {
		if score(i) > score(best) {
			best = i
		}
	}
	p := all[best].org
	out := []orgRef{all[best]}
	pname := strings.Join(nameTokens(p.Name), " ")
	for i, o := range all {
		if i == best {
			continue
		}
		if (p.ID != "" && o.org.ID == p.ID) || onDomain(o.org) ||
			(pname != "" && strings.Join(nameTokens(o.org.Name), " ") == pname) {
			out = append(out, o)
		}
	}
	return out
}

func (c *Company) verify(now time.Time, name string, home *Page, homeOK bool, homeURL *url.URL,
	resolves bool, httpsErr error, homeData *PageData, orgs []orgRef) {
	v := &c.Verification
	v.CheckedAt = now
	v.Resolves = resolves
	v.TLSValid = home.TLS
	v.StaysOnDomain = registrableDomain(homeURL.Hostname()) == c.Domain
	if !v.Resolves {
		v.Reasons = append(v.Reasons, "the host does not resolve")
	}
	if !v.TLSValid {
		r := "the home page was not served over https with a valid certificate"
		if httpsErr != nil {
			r += " (https: " + httpsErr.Error() + ")"
		}
		v.Reasons = append(v.Reasons, r)
	}
	if !v.StaysOnDomain {
		v.Reasons = append(v.Reasons, "the home page redirects off "+c.Domain+" to "+home.URL)
	}
	if !homeOK {
		v.Reasons = append(v.Reasons, fmt.Sprintf("the home page answered %d %s", home.Status, home.Header.Get("Content-Type")))
	}
	if name != "" {
		var names []string
		for _, o := range orgs {
			names = append(names, o.org.Name, o.org.LegalName)
		}
		if homeData != nil {
			names = append(names, homeData.OpenGraph.SiteName, homeData.OpenGraph.Title, homeData.Title)
		}
		m := false
		var seen []string
		for _, n := range names {
			if n == "" {
				continue
			}
			seen = append(seen, strconv.Quote(n))
			if NameMatches(name, n) {
				m = true
				break
			}
		}
		v.NameMatches = &m
		if !m {
			if len(seen) == 0 {
				v.Reasons = append(v.Reasons, fmt.Sprintf("the site gives no name to compare with %q", name))
			} else {
				v.Reasons = append(v.Reasons, fmt.Sprintf("%q does not match the site's names (%s)", name, strings.Join(seen, ", ")))
			}
		}
	}
	v.Verified = v.Resolves && v.TLSValid && v.StaysOnDomain && homeOK && (v.NameMatches == nil || *v.NameMatches)
}

// NormalizeSite turns a domain, host or URL into the lower-case ASCII (punycode) host, with the
// port when it is not the scheme's default: "https://WWW.Acme.com/about" -> "www.acme.com",
// "acme.com:8080" -> "acme.com:8080", "bücher.de" -> "xn--bcher-kva.de". Paths, queries and user
// info are dropped. It returns ErrUnsupportedScheme for schemes other than http(s) and
// ErrInvalidURL for anything that is not a valid host.
func NormalizeSite(site string) (string, error) {
	s := strings.TrimSpace(site)
	if s == "" {
		return "", fmt.Errorf("%w: empty site", ErrInvalidURL)
	}
	switch {
	case strings.Contains(s, "://"):
	case hasOtherScheme(s):
		return "", fmt.Errorf("%w: %q", ErrUnsupportedScheme, site)
	case strings.HasPrefix(s, "//"):
		s = "http:" + s
	default:
		s = "http://" + s
	}
	u, err := url.Parse(s)
	if err != nil {
		return "", fmt.Errorf("%w: %q: %v", ErrInvalidURL, site, err)
	}
	scheme := strings.ToLower(u.Scheme)
	if scheme != "http" && scheme != "https" {
		return "", fmt.Errorf("%w: %q", ErrUnsupportedScheme, u.Scheme)
	}
	host := strings.TrimRight(strings.ToLower(u.Hostname()), ".")
	if host == "" {
		return "", fmt.Errorf("%w: %q has no host", ErrInvalidURL, site)
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		if ip.Zone() != "" {
			return "", fmt.Errorf("%w: %q: zoned address", ErrInvalidURL, site)
		}
		host = ip.String()
	} else {
		a, err := idna.Lookup.ToASCII(host)
		if err != nil || !validHostname(a) {
			return "", fmt.Errorf("%w: %q is not a host name", ErrInvalidURL, site)
		}
		host = a
	}
	port := u.Port()
	if port != "" {
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 {
			return "", fmt.Errorf("%w: %q: bad port", ErrInvalidURL, site)
		}
		port = strconv.Itoa(n)
		if (scheme == "http" && n == 80) || (scheme == "https" && n == 443) {
			port = ""
		}
	}
	if port != "" {
		return net.JoinHostPort(host, port), nil
	}
	if strings.Contains(host, ":") {
		return "[" + host + "]", nil
	}
	return host, nil
}

// hasOtherScheme reports whether s, which has no "://", starts with a scheme ("mailto:",
// "javascript:") rather than a host and port ("acme.com:8080").
func hasOtherScheme(s string) bool {
	i := strings.IndexByte(s, ':')
	if i <= 0 {
		return false
	}
	for j := 0; j < i; j++ {
		c := s[j]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || j > 0 && ('0' <= c && c <= '9' || c == '+' || c == '-' || c == '.')) {
			return false
		}
	}
	port := s[i+1:]
	if k := strings.IndexAny(port, "/?#"); k >= 0 {
		port = port[:k]
	}
	return port != "" && !isDigits(port)
}

func validHostname(h string) bool {
	if len(h) == 0 || len(h) > 253 {
		return false
	}
	for _, label := range strings.Split(h, ".") {
		if len(label) == 0 || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

// hostname strips the port (and IPv6 brackets) from a host as NormalizeSite returns it.
func hostname(host string) string {
	if h, _, err := net.SplitHostPort(host); err == nil {
		return h
	}
	return strings.Trim(host, "[]")
}

// registrableDomain is the eTLD+1 of a host name ("www.acme.co.uk" -> "acme.co.uk"), or the name
// itself when it has none (an IP address, "localhost").
func registrableDomain(h string) string {
	h = strings.TrimSuffix(strings.ToLower(h), ".")
	if _, err := netip.ParseAddr(strings.Trim(h, "[]")); err == nil {
		return h
	}
	if d, err := publicsuffix.EffectiveTLDPlusOne(h); err == nil {
		return d
	}
	return h
}

// domainLabel is the registrable label of a domain: "acme" for "acme.co.uk".
func domainLabel(domain string) string {
	l, _, _ := strings.Cut(domain, ".")
	return l
}

// sameResource reports whether two URLs name the same page, ignoring a trailing slash.
func sameResource(a, b *url.URL) bool {
	return strings.EqualFold(a.Host, b.Host) &&
		strings.TrimSuffix(a.EscapedPath(), "/") == strings.TrimSuffix(b.EscapedPath(), "/") &&
		a.RawQuery == b.RawQuery
}

func isHTML(p *Page) bool {
	ct := p.Header.Get("Content-Type")
	if ct == "" {
		ct = http.DetectContentType(p.Body) // what a browser would do with an unlabelled page
	}
	t, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return false
	}
	return t == "text/html" || t == "application/xhtml+xml"
}

// canonicalLanguage turns "en_us", "EN-us" and the like into a BCP 47 tag ("en-US"); "" for
// something that is not a language tag.
func canonicalLanguage(s string) string {
	s = strings.TrimSpace(s)
	if s == "" || len(s) > 35 {
		return ""
	}
	t, err := language.Parse(s)
	if err != nil || t == language.Und {
		return ""
	}
	return t.String()
}
