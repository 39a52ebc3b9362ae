package web

import (
	"bytes"
	"encoding/json"
	"math"
	"mime"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
	"golang.org/x/net/html/charset"
)

// PageData is what one HTML page says, before pages are merged into a Company. Strings are
// whitespace-collapsed; URLs are absolute (resolved against the page and its <base href>).
type PageData struct {
	URL             string          `json:"url"`
	Lang            string          `json:"lang,omitempty"`             // <html lang>, as written
	ContentLanguage string          `json:"content_language,omitempty"` // header or http-equiv, first tag
	Title           string          `json:"title,omitempty"`
	Description     string          `json:"description,omitempty"` // <meta name="description">
	OpenGraph       OpenGraph       `json:"opengraph"`
	Organizations   []Organization  `json:"organizations,omitempty"` // JSON-LD, shallowest first
	Phones          []string        `json:"phones,omitempty"`        // tel: links, raw, deduplicated
	Emails          []string        `json:"emails,omitempty"`        // mailto: links, lower-cased
	Social          []SocialProfile `json:"social,omitempty"`        // profile links in <a href>
}

// OpenGraph holds the og: properties we read.
type OpenGraph struct {
	Title       string `json:"title,omitempty"`
	Description string `json:"description,omitempty"`
	Image       string `json:"image,omitempty"`
	SiteName    string `json:"site_name,omitempty"`
	URL         string `json:"url,omitempty"`
	Type        string `json:"type,omitempty"`
	Locale      string `json:"locale,omitempty"`
}

// Organization is a schema.org Organization, LocalBusiness or subtype found in JSON-LD.
type Organization struct {
	Type         string     `json:"type"`         // the matching @type, e.g. Corporation, Dentist
	ID           string     `json:"id,omitempty"` // @id
	Name         string     `json:"name,omitempty"`
	LegalName    string     `json:"legal_name,omitempty"`
	Description  string     `json:"description,omitempty"`
	URL          string     `json:"url,omitempty"`
	Logo         string     `json:"logo,omitempty"`
	Address      *Address   `json:"address,omitempty"`
	Telephones   []string   `json:"telephones,omitempty"` // telephone and contactPoint telephones
	Emails       []string   `json:"emails,omitempty"`     // email and contactPoint emails, lower-cased
	SameAs       []string   `json:"same_as,omitempty"`
	FoundingDate string     `json:"founding_date,omitempty"`
	Employees    *Employees `json:"employees,omitempty"`

	depth int // nesting in the JSON-LD document; top-level and @graph members are 0
}

// Address is a postal address. Text holds an address given as one string (or the whole address
// when it had no recognisable parts); the other fields come from a PostalAddress.
type Address struct {
	Street     string `json:"street,omitempty"`
	Locality   string `json:"locality,omitempty"`
	Region     string `json:"region,omitempty"`
	PostalCode string `json:"postal_code,omitempty"`
	Country    string `json:"country,omitempty"`
	Text       string `json:"text,omitempty"`
}

// Employees is a head count: Min == Max for an exact number, Max 0 for an open range ("1000+").
// Text keeps the original when it was a string.
type Employees struct {
	Min  int    `json:"min"`
	Max  int    `json:"max"`
	Text string `json:"text,omitempty"`
}

// SocialProfile is a normalised profile link. Network is one of linkedin, twitter (URLs are
// written with x.com), facebook, instagram, youtube, github, crunchbase.
type SocialProfile struct {
	Network string `json:"network"`
	URL     string `json:"url"`
	Handle  string `json:"handle"` // the slug, handle or channel id in the URL
}

// Extract reads p's HTML (any charset; it is decoded per Content-Type and <meta charset>). It
// never fails: malformed HTML or JSON-LD yields whatever could be read.
func Extract(p *Page) *PageData {
	d := &PageData{URL: p.URL}
	var ctype string
	if p.Header != nil {
		ctype = p.Header.Get("Content-Type")
		d.ContentLanguage = firstLanguage(p.Header.Get("Content-Language"))
	}
	base, err := url.Parse(p.URL)
	if err != nil {
		base = &url.URL{}
	}
	body := toUTF8(p.Body, ctype)

	var (
		z          = html.NewTokenizer(bytes.NewReader(body))
		svgDepth   int
		inTitle    bool
		title      strings.Builder
		inLD       bool
		ld         []byte
		scripts    [][]byte
		baseSet    bool
		phoneSeen  = map[string]bool{}
		emailSeen  = map[string]bool{}
		socialSeen = map[string]bool{}
		attrs      = map[string]string{}
	)
	for {
		tt := z.Next()
		if tt == html.ErrorToken {
			break
		}
		switch tt {
		case html.StartTagToken, html.SelfClosingTagToken:
			name, hasAttr := z.TagName()
			clear(attrs)
			for hasAttr {
				var k, v []byte
				k, v, hasAttr = z.TagAttr()
				if _, dup := attrs[string(k)]; !dup { // the first of duplicate attributes wins, as in browsers
					attrs[string(k)] = string(v)
				}
			}
			switch atom.Lookup(name) {
			case atom.Html:
				if d.Lang == "" {
					d.Lang = strings.TrimSpace(attrs["lang"])
				}
			case atom.Svg:
				if tt == html.StartTagToken {
					svgDepth++ // icons carry their own <title>
				}
			case atom.Title:
				inTitle = tt == html.StartTagToken && svgDepth == 0 && d.Title == ""
			case atom.Base:
				if h := strings.TrimSpace(attrs["href"]); h != "" && !baseSet {
					if b, err := base.Parse(h); err == nil {
						base, baseSet = b, true
					}
				}
			case atom.Meta:
				d.meta(attrs, base)
			case atom.A:
				d.anchor(attrs["href"], base, phoneSeen, emailSeen, socialSeen)
			case atom.Script:
				t, _, _ := mime.ParseMediaType(attrs["type"])
				inLD = tt == html.StartTagToken && t == "application/ld+json"
				ld = ld[:0]
			}
		case html.EndTagToken:
			name, _ := z.TagName()
			switch atom.Lookup(name) {
			case atom.Svg:
				if svgDepth > 0 {
					svgDepth--
				}
			case atom.Title:
				if inTitle {
					d.Title = clean(title.String())
				}
				inTitle = false
			case atom.Script:
				if inLD && len(ld) > 0 {
					scripts = append(scripts, bytes.Clone(ld))
				}
				inLD = false
			}
		case html.TextToken:
			switch {
			case inTitle:
				title.Write(z.Text())
			case inLD:
				ld = append(ld, z.Text()...)
			}
		}
	}
	if inTitle && d.Title == "" { // unterminated <title>
		d.Title = clean(title.String())
	}
	if inLD && len(ld) > 0 {
		scripts = append(scripts, ld)
	}
	for _, s := range scripts {
		d.Organizations = append(d.Organizations, parseJSONLD(s, base)...)
	}
	sortOrgs(d.Organizations)
	return d
}

// toUTF8 decodes body to UTF-8 using the Content-Type charset, a BOM or <meta charset>,
// defaulting as browsers do (UTF-8 if valid, else windows-1252).
func toUTF8(body []byte, ctype string) []byte {
	enc, name, _ := charset.DetermineEncoding(body, ctype)
	if name == "utf-8" || enc == nil {
		return body
	}
	out, err := enc.NewDecoder().Bytes(body)
	if err != nil {
		return body
	}
	return out
}

func (d *PageData) meta(attrs map[string]string, base *url.URL) {
	content := clean(attrs["content"])
	if content == "" {
		return
	}
	set := func(dst *string, v string) {
		if *dst == "" {
			*dst = v
		}
	}
	if strings.EqualFold(strings.TrimSpace(attrs["http-equiv"]), "content-language") {
		set(&d.ContentLanguage, firstLanguage(content))
	}
	// Many sites write og: properties in name=, and some put both on one tag.
	prop := strings.ToLower(strings.TrimSpace(attrs["property"]))
	name := strings.ToLower(strings.TrimSpace(attrs["name"]))
	d.metaKey(prop, content, base, set)
	if name != prop {
		d.metaKey(name, content, base, set)
	}
}

func (d *PageData) metaKey(key, content string, base *url.URL, set func(*string, string)) {
	switch key {
	case "description":
		set(&d.Description, content)
	case "og:title":
		set(&d.OpenGraph.Title, content)
	case "og:description":
		set(&d.OpenGraph.Description, content)
	case "og:image", "og:image:url", "og:image:secure_url":
		set(&d.OpenGraph.Image, absURL(base, content))
	case "og:site_name":
		set(&d.OpenGraph.SiteName, content)
	case "og:url":
		set(&d.OpenGraph.URL, absURL(base, content))
	case "og:type":
		set(&d.OpenGraph.Type, content)
	case "og:locale":
		set(&d.OpenGraph.Locale, content)
	}
}

func (d *PageData) anchor(href string, base *url.URL, phones, emails, social map[string]bool) {
	href = strings.TrimSpace(href)
	scheme, rest, ok := strings.Cut(href, ":")
	if ok {
		switch strings.ToLower(scheme) {
		case "tel", "callto":
			if p := cleanPhone(rest); p != "" && !phones[phoneKey(p)] {
				phones[phoneKey(p)] = true
				d.Phones = append(d.Phones, p)
			}
			return
		case "mailto":
			for _, e := range mailtoAddresses(rest) {
				if !emails[e] {
					emails[e] = true
					d.Emails = append(d.Emails, e)
				}
			}
			return
		}
	}
	if sp, ok := socialProfile(absURL(base, href)); ok && !social[socialKey(sp)] {
		social[socialKey(sp)] = true
		d.Social = append(d.Social, sp)
	}
}

// cleanPhone turns the rest of a tel: URI into the number as written: unescaped, without the
// "//" some sites add and without tel-URI parameters other than the extension.
func cleanPhone(s string) string {
	if u, err := url.PathUnescape(s); err == nil {
		s = u
	}
	s = strings.TrimPrefix(strings.TrimSpace(s), "//")
	if i := strings.IndexByte(s, '?'); i >= 0 {
		s = s[:i]
	}
	s = clean(s)
	if !strings.ContainsAny(s, "0123456789") || len(s) > 64 {
		return ""
	}
	return s
}

// phoneKey identifies a number regardless of formatting: its digits, a leading '+' and any
// extension.
func phoneKey(s string) string {
	var b strings.Builder
	for i, r := range s {
		if r >= '0' && r <= '9' || (r == '+' && i == 0) {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// mailtoAddresses returns the addresses of a mailto: URI (several may be comma-separated),
// lower-cased, without the query (subject, body, ...).
func mailtoAddresses(s string) []string {
	s, _, _ = strings.Cut(s, "?")
	if u, err := url.PathUnescape(s); err == nil {
		s = u
	}
	var out []string
	for _, a := range strings.Split(s, ",") {
		if e := cleanEmail(a); e != "" {
			out = append(out, e)
		}
	}
	return out
}

// cleanEmail lower-cases an address and rejects what is plainly not one.
func cleanEmail(s string) string {
	s = strings.TrimSpace(s)
	if len(s) >= 7 && strings.EqualFold(s[:7], "mailto:") {
		s = strings.TrimSpace(s[7:])
	}
	s = strings.ToLower(s)
	local, domain, ok := strings.Cut(s, "@")
	if !ok || local == "" || domain == "" || strings.ContainsAny(s, " \t\r\n<>()[],;:\"") ||
		strings.Contains(domain, "@") || !strings.Contains(domain, ".") || len(s) > 254 || !utf8.ValidString(s) {
		return ""
	}
	return s
}

func absURL(base *url.URL, ref string) string {
	ref = strings.TrimSpace(ref)
	if ref == "" {
		return ""
	}
	u, err := base.Parse(ref)
	if err != nil {
		return ref
	}
	return u.String()
}

// clean collapses runs of white space (including no-break spaces) and trims.
func clean(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// firstLanguage returns the first tag of a Content-Language list ("en-US, fr" -> "en-US").
func firstLanguage(s string) string {
	s, _, _ = strings.Cut(s, ",")
	s, _, _ = strings.Cut(s, ";")
	return strings.TrimSpace(s)
}

// --- social profiles ---

var (
	reTwitter   = regexp.MustCompile(`^[A-Za-z0-9_]{1,15}$`)
	reInstagram = regexp.MustCompile(`^[A-Za-z0-9._]{1,30}$`)
	reGitHub    = regexp.MustCompile(`^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$`)
	reSlug      = regexp.MustCompile(`^[\p{L}\p{N}._~%-]{1,200}$`)
	reFacebook  = regexp.MustCompile(`^[\p{L}\p{N}.-]{1,100}$`)
)

// Path segments that are features of the network, not profiles (share dialogs, intents, ...).
var (
	twitterReserved = set("intent", "share", "home", "i", "search", "hashtag", "login", "signup",
		"privacy", "tos", "settings", "explore", "notifications", "messages", "compose", "about", "x", "twitter")
	facebookReserved = set("sharer", "sharer.php", "share.php", "share", "dialog", "plugins", "tr",
		"login", "login.php", "home.php", "policies", "privacy", "help", "watch", "events", "hashtag",
		"photo.php", "story.php", "permalink.php", "l.php", "ads", "business", "marketplace", "groups",
		"gaming", "profile.php")
	instagramReserved = set("p", "reel", "reels", "explore", "accounts", "stories", "tv", "direct", "about", "legal")
	githubReserved    = set("features", "pricing", "about", "login", "join", "sponsors", "marketplace",
		"topics", "collections", "explore", "settings", "apps", "enterprise", "security", "site",
		"contact", "notifications", "new", "organizations", "customer-stories", "readme", "trending",
		"search", "team", "home", "resources", "solutions", "signup", "logout")
)

func set(ss ...string) map[string]bool {
	m := make(map[string]bool, len(ss))
	for _, s := range ss {
		m[s] = true
	}
	return m
}

// socialProfile recognises a link to a company or person profile on one of the networks we know
// and returns it in one canonical form (https, canonical host, no query, fragment or trailing
// slash), so that the same profile linked in different ways compares equal.
func socialProfile(raw string) (SocialProfile, bool) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return SocialProfile{}, false
	}
	if !strings.Contains(raw, "://") && !strings.HasPrefix(raw, "//") {
		raw = "https://" + raw // sameAs values are sometimes written without a scheme
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https" && u.Scheme != "") {
		return SocialProfile{}, false
	}
	host := strings.TrimSuffix(strings.ToLower(u.Hostname()), ".")
	for _, p := range []string{"www.", "m.", "mobile.", "web."} {
		host = strings.TrimPrefix(host, p)
	}
	var segs []string
	for _, s := range strings.Split(u.Path, "/") {
		if s != "" {
			segs = append(segs, s)
		}
	}
	seg := func(i int) string {
		if i < len(segs) {
			return segs[i]
		}
		return ""
	}
	lseg := func(i int) string { return strings.ToLower(seg(i)) }
	out := func(network, canon, handle string) (SocialProfile, bool) {
		return SocialProfile{Network: network, URL: canon, Handle: handle}, true
	}
	switch {
	case host == "linkedin.com" || strings.HasSuffix(host, ".linkedin.com"):
		switch kind := lseg(0); kind {
		case "company", "in", "school", "showcase":
			if h := seg(1); reSlug.MatchString(h) {
				return out("linkedin", "https://www.linkedin.com/"+kind+"/"+h, h)
			}
		}
	case host == "twitter.com" || host == "x.com":
		if h := seg(0); reTwitter.MatchString(h) && !twitterReserved[strings.ToLower(h)] {
			return out("twitter", "https://x.com/"+h, h)
		}
	case host == "facebook.com" || host == "fb.com":
		switch l := lseg(0); {
		case l == "profile.php":
			if id := u.Query().Get("id"); id != "" && isDigits(id) {
				return out("facebook", "https://www.facebook.com/profile.php?id="+id, id)
			}
		case l == "pages" && len(segs) >= 3 && reFacebook.MatchString(seg(1)) && isDigits(seg(2)):
			return out("facebook", "https://www.facebook.com/pages/"+seg(1)+"/"+seg(2), seg(2))
		case l != "" && !facebookReserved[l] && l != "pages" && reFacebook.MatchString(seg(0)):
			return out("facebook", "https://www.facebook.com/"+seg(0), seg(0))
		}
	case host == "instagram.com":
		if h := seg(0); reInstagram.MatchString(h) && !instagramReserved[strings.ToLower(h)] {
			return out("instagram", "https://www.instagram.com/"+h, h)
		}
	case host == "youtube.com":
		switch l := lseg(0); {
		case strings.HasPrefix(l, "@") && len(l) > 1 && reSlug.MatchString(seg(0)[1:]):
			return out("youtube", "https://www.youtube.com/"+seg(0), seg(0))
		case (l == "channel" || l == "c" || l == "user") && reSlug.MatchString(seg(1)):
			return out("youtube", "https://www.youtube.com/"+l+"/"+seg(1), seg(1))
		}
	case host == "github.com":
		h := seg(0)
		if strings.EqualFold(h, "orgs") {
			h = seg(1)
		}
		if reGitHub.MatchString(h) && !githubReserved[strings.ToLower(h)] {
			// A link to a repository names its owner; the owner is the profile.
			return out("github", "https://github.com/"+h, h)
		}
	case host == "crunchbase.com":
		switch kind := lseg(0); kind {
		case "organization", "person":
			if h := seg(1); reSlug.MatchString(h) {
				return out("crunchbase", "https://www.crunchbase.com/"+kind+"/"+h, h)
			}
		}
	}
	return SocialProfile{}, false
}

func socialKey(p SocialProfile) string { return strings.ToLower(p.URL) }

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// --- JSON-LD ---

// JSON-LD is read to this depth and this many nodes per script: real markup is shallow, and the
// limits keep hostile input cheap.
const (
	ldMaxDepth = 32
	ldMaxNodes = 200000
)

// parseJSONLD returns the organisations in one <script type="application/ld+json">, including
// those inside @graph arrays, top-level arrays and nested properties (publisher, brand, ...).
func parseJSONLD(data []byte, base *url.URL) []Organization {
	data = bytes.TrimSpace(bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")))
	// Some CMSs wrap the JSON in comment or CDATA markers.
	for _, w := range [][2]string{{"<!--", "-->"}, {"//<![CDATA[", "//]]>"}, {"<![CDATA[", "]]>"}} {
		if bytes.HasPrefix(data, []byte(w[0])) {
			data = bytes.TrimSpace(bytes.TrimSuffix(bytes.TrimSpace(data[len(w[0]):]), []byte(w[1])))
		}
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var roots []any
	for {
		var v any
		if err := dec.Decode(&v); err != nil {
			break
		}
		roots = append(roots, v)
	}
	if len(roots) == 0 {
		return nil
	}
	w := &ldWalker{ids: map[string]map[string]any{}, base: base}
	for _, r := range roots {
		w.index(r, 0)
	}
	w.nodes = 0
	for _, r := range roots {
		w.collect(r, 0)
	}
	return w.orgs
}

type ldWalker struct {
	ids   map[string]map[string]any // @id -> the fullest node with that id
	base  *url.URL
	orgs  []Organization
	seen  map[string]bool // org @ids already taken
	nodes int
}

func (w *ldWalker) index(v any, depth int) {
	w.nodes++
	if depth > ldMaxDepth || w.nodes > ldMaxNodes {
		return
	}
	switch x := v.(type) {
	case map[string]any:
		if id := ldString(x["@id"]); id != "" && len(x) > 1 && len(x) > len(w.ids[id]) {
			w.ids[id] = x
		}
		for _, k := range sortedKeys(x) {
			w.index(x[k], depth+1)
		}
	case []any:
		for _, c := range x {
			w.index(c, depth+1)
		}
	}
}

// collect finds organisation nodes. depth counts object nesting only: members of a top-level
// array or of @graph are depth 0, like a top-level object.
func (w *ldWalker) collect(v any, depth int) {
	w.nodes++
	if depth > ldMaxDepth || w.nodes > ldMaxNodes {
		return
	}
	switch x := v.(type) {
	case []any:
		for _, c := range x {
			w.collect(c, depth)
		}
	case map[string]any:
		if len(x) == 1 && x["@id"] != nil {
			// A bare reference: the node it names is collected where it is defined. Following
			// references here would walk reference cycles (publisher -> website -> publisher).
			return
		}
		if t := orgType(x["@type"]); t != "" {
			id := ldString(x["@id"])
			if id == "" || !w.seen[id] {
				if id != "" {
					if w.seen == nil {
						w.seen = map[string]bool{}
					}
					w.seen[id] = true
				}
				if o := w.org(x, t, depth); o.Name != "" || o.LegalName != "" || o.URL != "" || len(o.Telephones) > 0 {
					w.orgs = append(w.orgs, o)
				}
			}
		}
		for _, k := range sortedKeys(x) { // sorted: map order would make the result vary
			c := x[k]
			if k == "@graph" {
				w.collect(c, depth)
			} else if k != "@context" {
				w.collect(c, depth+1)
			}
		}
	}
}

// deref replaces a bare {"@id": ...} reference with the node it names.
func (w *ldWalker) deref(m map[string]any) map[string]any {
	if id := ldString(m["@id"]); id != "" && len(m) == 1 {
		if full := w.ids[id]; full != nil {
			return full
		}
	}
	return m
}

func (w *ldWalker) org(m map[string]any, typ string, depth int) Organization {
	o := Organization{
		Type:         typ,
		ID:           ldString(m["@id"]),
		Name:         ldString(m["name"]),
		LegalName:    ldString(m["legalName"]),
		Description:  ldString(m["description"]),
		URL:          absURL(w.base, ldString(m["url"])),
		Logo:         w.image(m["logo"]),
		Address:      w.address(m["address"], 0),
		FoundingDate: ldString(m["foundingDate"]),
		Employees:    w.employees(m["numberOfEmployees"], 0),
		depth:        depth,
	}
	if o.Address == nil {
		if loc, ok := w.first(m["location"]).(map[string]any); ok {
			o.Address = w.address(w.deref(loc)["address"], 0)
		}
	}
	phoneSeen, emailSeen := map[string]bool{}, map[string]bool{}
	addPhones := func(v any) {
		for _, p := range ldStrings(v) {
			if p = clean(p); p != "" && strings.ContainsAny(p, "0123456789") && !phoneSeen[phoneKey(p)] {
				phoneSeen[phoneKey(p)] = true
				o.Telephones = append(o.Telephones, p)
			}
		}
	}
	addEmails := func(v any) {
		for _, e := range ldStrings(v) {
			if e = cleanEmail(e); e != "" && !emailSeen[e] {
				emailSeen[e] = true
				o.Emails = append(o.Emails, e)
			}
		}
	}
	addPhones(m["telephone"])
	addEmails(m["email"])
	for _, cp := range asSlice(m["contactPoint"]) {
		if c, ok := cp.(map[string]any); ok {
			c = w.deref(c)
			addPhones(c["telephone"])
			addEmails(c["email"])
		}
	}
	for _, s := range ldStrings(m["sameAs"]) {
		if s = absURL(w.base, s); s != "" {
			o.SameAs = append(o.SameAs, s)
		}
	}
	return o
}

// image reads a URL given as a string, an ImageObject (url or contentUrl) or a reference to one.
func (w *ldWalker) image(v any) string {
	switch x := w.first(v).(type) {
	case string:
		return absURL(w.base, clean(x))
	case map[string]any:
		x = w.deref(x)
		if u := ldString(x["url"]); u != "" {
			return absURL(w.base, u)
		}
		return absURL(w.base, ldString(x["contentUrl"]))
	}
	return ""
}

func (w *ldWalker) address(v any, depth int) *Address {
	if depth > 2 {
		return nil
	}
	switch x := v.(type) {
	case string:
		if s := clean(unescapeEntities(x)); s != "" {
			return &Address{Text: s}
		}
	case []any:
		for _, c := range x {
			if a := w.address(c, depth+1); a != nil {
				return a
			}
		}
	case map[string]any:
		x = w.deref(x)
		a := &Address{
			Street:     ldString(x["streetAddress"]),
			Locality:   ldString(x["addressLocality"]),
			Region:     ldString(x["addressRegion"]),
			PostalCode: ldString(x["postalCode"]),
		}
		switch c := w.first(x["addressCountry"]).(type) {
		case map[string]any:
			c = w.deref(c)
			a.Country = ldString(c["name"])
			if a.Country == "" {
				a.Country = ldString(c["identifier"])
			}
		default:
			a.Country = ldString(c)
		}
		if *a == (Address{}) {
			if n := ldString(x["name"]); n != "" {
				a.Text = n
			} else {
				return nil
			}
		}
		return a
	}
	return nil
}

var reNumber = regexp.MustCompile(`\d+`)

// employees reads numberOfEmployees: a number, a string ("50", "11-50", "1,000+") or a
// QuantitativeValue (value, or minValue/maxValue).
func (w *ldWalker) employees(v any, depth int) *Employees {
	if depth > 2 {
		return nil
	}
	switch x := v.(type) {
	case json.Number:
		if n, ok := ldInt(x); ok {
			return &Employees{Min: n, Max: n}
		}
	case string:
		return parseEmployees(x)
	case []any:
		for _, c := range x {
			if e := w.employees(c, depth+1); e != nil {
				return e
			}
		}
	case map[string]any:
		x = w.deref(x)
		if e := w.employees(x["value"], depth+1); e != nil {
			return e
		}
		lo, okLo := ldInt(x["minValue"])
		hi, okHi := ldInt(x["maxValue"])
		if okLo || okHi {
			return &Employees{Min: lo, Max: hi}
		}
	}
	return nil
}

func parseEmployees(s string) *Employees {
	s = clean(unescapeEntities(s))
	nums := reNumber.FindAllString(strings.ReplaceAll(s, ",", ""), 3)
	var ns []int
	for _, n := range nums {
		if v, err := strconv.Atoi(n); err == nil && v < 1e9 {
			ns = append(ns, v)
		}
	}
	e := &Employees{Text: s}
	switch {
	case len(ns) == 0:
		return nil
	case len(ns) == 1 && (strings.Contains(s, "+") || strings.Contains(strings.ToLower(s), "more") || strings.Contains(strings.ToLower(s), "over")):
		e.Min = ns[0]
	case len(ns) == 1:
		e.Min, e.Max = ns[0], ns[0]
	default:
		e.Min, e.Max = ns[0], ns[1]
	}
	return e
}

func ldInt(v any) (int, bool) {
	switch x := v.(type) {
	case json.Number:
		f, err := x.Float64()
		if err != nil || math.IsNaN(f) || f < 0 || f >= 1e9 {
			return 0, false
		}
		return int(f), true
	case string:
		s := strings.ReplaceAll(strings.TrimSpace(x), ",", "")
		if n, err := strconv.Atoi(s); err == nil && n >= 0 && n < 1e9 {
			return n, true
		}
	}
	return 0, false
}

func (w *ldWalker) first(v any) any {
	if a, ok := v.([]any); ok {
		if len(a) == 0 {
			return nil
		}
		return a[0]
	}
	return v
}

func asSlice(v any) []any {
	if a, ok := v.([]any); ok {
		return a
	}
	if v == nil {
		return nil
	}
	return []any{v}
}

// ldString reads a JSON-LD text value: a string, a number, a {"@value": ...} object or the
// first usable element of an array. HTML entities are decoded because many CMSs escape twice.
func ldString(v any) string {
	return ldStringDepth(v, 0)
}

func ldStringDepth(v any, depth int) string {
	if depth > 3 {
		return ""
	}
	switch x := v.(type) {
	case string:
		return clean(unescapeEntities(x))
	case json.Number:
		return x.String()
	case map[string]any:
		return ldStringDepth(x["@value"], depth+1)
	case []any:
		for _, c := range x {
			if s := ldStringDepth(c, depth+1); s != "" {
				return s
			}
		}
	}
	return ""
}

func ldStrings(v any) []string {
	var out []string
	for _, c := range asSlice(v) {
		if s := ldString(c); s != "" {
			out = append(out, s)
		}
	}
	return out
}

func unescapeEntities(s string) string {
	if !strings.Contains(s, "&") {
		return s
	}
	return html.UnescapeString(s)
}

// orgType returns the first @type that is an organisation or business, without any schema.org
// prefix, or "".
func orgType(v any) string {
	for _, t := range asSlice(v) {
		s, ok := t.(string)
		if !ok {
			continue
		}
		s = strings.TrimSpace(s)
		for _, p := range []string{"http://schema.org/", "https://schema.org/", "schema:"} {
			s = strings.TrimPrefix(s, p)
		}
		if isOrgType(s) {
			return s
		}
	}
	return ""
}

func isOrgType(t string) bool {
	if t == "" {
		return false
	}
	for _, suf := range []string{"Organization", "LocalBusiness", "Corporation", "Business", "Store"} {
		if strings.HasSuffix(t, suf) {
			return true
		}
	}
	return orgTypes[t]
}

// orgTypes are schema.org Organization and LocalBusiness subtypes whose names do not end in one
// of the suffixes isOrgType accepts.
var orgTypes = set(
	// Organization
	"NGO", "Airline", "Consortium", "Cooperative", "FundingScheme", "LibrarySystem", "PoliticalParty",
	"WorkersUnion", "ResearchProject", "FundingAgency", "SportsTeam", "PerformingGroup", "DanceGroup",
	"MusicGroup", "TheaterGroup", "CollegeOrUniversity", "School", "ElementarySchool", "HighSchool",
	"MiddleSchool", "Preschool",
	// LocalBusiness subtypes
	"AnimalShelter", "ChildCare", "Dentist", "DryCleaningOrLaundry", "EmergencyService",
	"EmploymentAgency", "FinancialService", "FoodEstablishment", "GovernmentOffice", "InternetCafe",
	"LegalService", "Library", "ProfessionalService", "RadioStation", "RealEstateAgent",
	"RecyclingCenter", "SelfStorage", "ShoppingCenter", "SportsActivityLocation",
	"TelevisionStation", "TouristInformationCenter", "TravelAgency", "Restaurant", "Bakery",
	"BarOrPub", "Brewery", "CafeOrCoffeeShop", "Distillery", "FastFoodRestaurant", "IceCreamShop",
	"Winery", "Hotel", "Motel", "Hostel", "BedAndBreakfast", "Resort", "Campground", "AutoDealer",
	"AutoRepair", "AutoRental", "AutoWash", "AutoBodyShop", "GasStation", "MotorcycleDealer",
	"MotorcycleRepair", "Attorney", "Notary", "AccountingService", "AutomatedTeller",
	"BankOrCreditUnion", "InsuranceAgency", "Electrician", "GeneralContractor", "HVACBusiness",
	"HousePainter", "Locksmith", "MovingCompany", "Plumber", "RoofingContractor", "BeautySalon",
	"DaySpa", "HairSalon", "HealthClub", "NailSalon", "TattooParlor", "Optician", "Pharmacy",
	"Physician", "MedicalClinic", "Hospital", "DiagnosticLab", "VeterinaryCare", "PostOffice",
	"FireStation", "PoliceStation", "AmusementPark", "ArtGallery", "Casino", "ComedyClub",
	"MovieTheater", "NightClub", "BowlingAlley", "ExerciseGym", "GolfCourse", "PublicSwimmingPool",
	"SkiResort", "SportsClub", "StadiumOrArena", "TennisComplex", "Florist",
)

// sortOrgs puts shallower organisations first (the page's own organisation is usually
// top-level; nested ones are publishers, brands, parents), keeping document order otherwise.
func sortOrgs(orgs []Organization) {
	sort.SliceStable(orgs, func(i, j int) bool { return orgs[i].depth < orgs[j].depth })
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
