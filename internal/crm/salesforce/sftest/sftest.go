// Package sftest is an in-memory Salesforce org behind an httptest server, for tests of code
// that runs on the Salesforce adapter: OAuth2 client credentials, REST sObjects (get, create,
// update, delete) and SOQL queries of the shapes the adapter writes, and the SOAP partner calls
// convertLead, merge and undelete, answering with the bodies Salesforce returns (those of
// testdata/salesforce). It records every request so tests can assert what was sent.
package sftest

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lanternhq/lantern/internal/config"
	"github.com/lanternhq/lantern/internal/crm"
	"github.com/lanternhq/lantern/internal/crm/salesforce"
)

// APIVersion is the version the fake serves.
const APIVersion = "v61.0"

// ExternalIDField is the external id field of the fake org.
const ExternalIDField = "Lantern_External_Id__c"

const token = "00Dx0000000BV7z!AR8AQAxo9UfVkh8AlV0Gomt9Czx9LjHnSSpwBMmbRcgKFmxOtvxjTrKW19ye6PE3Ds1eQz3z8jr3W7_VbWmEu4Q8TVGSTHxs"

// Request is one request the fake received. SOAP requests carry their call in Action and
// their body's elements (by local name, in order) in SOAP.
type Request struct {
	Method, Path, Query string
	Body                []byte
	Action              string
	SOAP                []Element
}

// Element is one element of a SOAP request body, flattened: its path of local names under the
// call ("leadConverts/accountId") and its text.
type Element struct {
	Path, Text string
}

// Values are the texts of the elements at path.
func (r Request) Values(path string) []string {
	var out []string
	for _, e := range r.SOAP {
		if e.Path == path {
			out = append(out, e.Text)
		}
	}
	return out
}

// Value is the text of the first element at path ("" when absent).
func (r Request) Value(path string) string {
	if v := r.Values(path); len(v) > 0 {
		return v[0]
	}
	return ""
}

type record struct {
	object string
	fields map[string]any
	stamp  time.Time
	create time.Time
}

// Org is the fake org.
type Org struct {
	Server *httptest.Server
	t      testing.TB

	mu      sync.Mutex
	records map[string]*record
	bin     map[string]*record
	reqs    []Request
	clock   time.Time
	// Fail, when set, may refuse a request: a non-zero status answers it with that status and
	// body instead of serving it.
	Fail func(r Request) (status int, body string)
}

// New starts a fake org, stopped when the test ends.
func New(t testing.TB) *Org {
	o := &Org{t: t, records: map[string]*record{}, bin: map[string]*record{}, clock: time.Now().UTC().Truncate(time.Second).Add(-time.Hour)}
	o.Server = httptest.NewServer(http.HandlerFunc(o.serve))
	t.Cleanup(o.Server.Close)
	return o
}

// Config is the adapter's configuration for the fake (client credentials).
func (o *Org) Config() config.SalesforceConfig {
	return config.SalesforceConfig{LoginURL: o.Server.URL, ClientID: "cid", ClientSecret: "csecret", APIVersion: APIVersion,
		ExternalIDField: ExternalIDField, MaxAPIUsage: 0.9, Timeout: 5 * time.Second}
}

// Client is an adapter talking to the fake.
func (o *Org) Client() *salesforce.Client {
	c, err := salesforce.New(o.Config())
	if err != nil {
		o.t.Fatal(err)
	}
	c.HTTP = o.Server.Client()
	c.HTTP.Timeout = 5 * time.Second
	c.Backoff = time.Millisecond
	return c
}

// tick is the next modification time (one second apart, so versions always differ).
func (o *Org) tick() time.Time {
	o.clock = o.clock.Add(time.Second)
	return o.clock
}

// Put adds a record with fields and returns its id.
func (o *Org) Put(object string, fields map[string]any) string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.insert(object, fields)
}

func (o *Org) insert(object string, fields map[string]any) string {
	id := crm.NewID(object)
	f := map[string]any{}
	for k, v := range fields {
		if v != nil {
			f[k] = v
		}
	}
	if object == crm.Lead {
		if _, ok := f["IsConverted"]; !ok {
			f["IsConverted"] = false
		}
	}
	now := o.tick()
	o.records[id] = &record{object: object, fields: f, stamp: now, create: now}
	return id
}

// Record is a record's fields as stored (nil when it does not exist or is deleted).
func (o *Org) Record(id string) map[string]any {
	o.mu.Lock()
	defer o.mu.Unlock()
	r := o.records[id]
	if r == nil {
		return nil
	}
	out := map[string]any{}
	for k, v := range r.fields {
		out[k] = v
	}
	return out
}

// Deleted reports whether the record is in the recycle bin.
func (o *Org) Deleted(id string) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.bin[id] != nil
}

// Requests are the requests received so far (the token endpoint aside).
func (o *Org) Requests() []Request {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]Request(nil), o.reqs...)
}

// Calls are the SOAP requests of one call (convertLead, merge, undelete).
func (o *Org) Calls(action string) []Request {
	var out []Request
	for _, r := range o.Requests() {
		if r.Action == action {
			out = append(out, r)
		}
	}
	return out
}

// Writes are the REST requests of a method (POST, PATCH, DELETE) on sObjects.
func (o *Org) Writes(method string) []Request {
	var out []Request
	for _, r := range o.Requests() {
		if r.Method == method && strings.Contains(r.Path, "/sobjects/") {
			out = append(out, r)
		}
	}
	return out
}

// Count is the number of live records of object.
func (o *Org) Count(object string) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	n := 0
	for _, r := range o.records {
		if r.object == object {
			n++
		}
	}
	return n
}

func (o *Org) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	if r.URL.Path == "/services/oauth2/token" {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"id": "https://login.salesforce.com/id/00Dx0000000BV7z/005x00000012Q9P", //nolint:errcheck
			"issued_at": "1278448832702", "instance_url": o.Server.URL, "signature": "0CmxinZir53Yex7nE0TD+zMpvIWYGb/bdJh6XfOH6EQ=",
			"access_token": token, "token_type": "Bearer"})
		return
	}
	req := Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Body: body}
	soap := strings.HasPrefix(r.URL.Path, "/services/Soap/u/")
	if soap {
		req.Action, req.SOAP = parseSOAP(body)
	}
	o.mu.Lock()
	o.reqs = append(o.reqs, req)
	fail := o.Fail
	o.mu.Unlock()
	if fail != nil {
		if status, b := fail(req); status != 0 {
			if strings.HasPrefix(b, "<") {
				w.Header().Set("Content-Type", "text/xml; charset=utf-8")
			} else {
				w.Header().Set("Content-Type", "application/json")
			}
			w.WriteHeader(status)
			io.WriteString(w, b) //nolint:errcheck
			return
		}
	}
	if soap {
		if !strings.Contains(string(body), "<urn:sessionId>"+token+"</urn:sessionId>") {
			soapReply(w, http.StatusInternalServerError, `<soapenv:Fault><faultcode>sf:INVALID_SESSION_ID</faultcode><faultstring>INVALID_SESSION_ID: Invalid Session ID found in SessionHeader: Illegal Session</faultstring></soapenv:Fault>`)
			return
		}
		o.mu.Lock()
		defer o.mu.Unlock()
		o.soapCall(w, req)
		return
	}
	if r.Header.Get("Authorization") != "Bearer "+token {
		restReply(w, http.StatusUnauthorized, `[{"message":"Session expired or invalid","errorCode":"INVALID_SESSION_ID"}]`)
		return
	}
	rest, ok := strings.CutPrefix(r.URL.Path, "/services/data/"+APIVersion+"/")
	if !ok {
		restReply(w, http.StatusNotFound, `[{"errorCode":"NOT_FOUND","message":"The requested resource does not exist"}]`)
		return
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	parts := strings.Split(rest, "/")
	switch {
	case parts[0] == "query" && r.Method == http.MethodGet:
		o.query(w, r.URL.Query().Get("q"))
	case parts[0] == "sobjects" && len(parts) == 2 && r.Method == http.MethodPost:
		o.create(w, parts[1], body)
	case parts[0] == "sobjects" && len(parts) == 3:
		o.sobject(w, r.Method, parts[1], parts[2], body)
	default:
		restReply(w, http.StatusNotFound, `[{"errorCode":"NOT_FOUND","message":"The requested resource does not exist"}]`)
	}
}

func restReply(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	io.WriteString(w, body) //nolint:errcheck
}

func jsonReply(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v) //nolint:errcheck
}

const sfTime = "2006-01-02T15:04:05.000+0000"

// view is a record as the REST API returns it.
func (o *Org) view(id string, r *record) map[string]any {
	m := map[string]any{"attributes": map[string]any{"type": r.object, "url": "/services/data/" + APIVersion + "/sobjects/" + r.object + "/" + id},
		"Id": id, "IsDeleted": false, "CreatedDate": r.create.Format(sfTime), "LastModifiedDate": r.stamp.Format(sfTime),
		"SystemModstamp": r.stamp.Format(sfTime), "CreatedById": "005000000000001AAA", "LastModifiedById": "005000000000001AAA"}
	for k, v := range r.fields {
		m[k] = v
	}
	if r.object == crm.Contact || r.object == crm.Lead {
		m["Name"] = strings.TrimSpace(str(r.fields["FirstName"]) + " " + str(r.fields["LastName"]))
	}
	return m
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

func notFound(w http.ResponseWriter) {
	restReply(w, http.StatusNotFound, `[{"errorCode":"NOT_FOUND","message":"The requested resource does not exist"}]`)
}

func (o *Org) create(w http.ResponseWriter, object string, body []byte) {
	var f map[string]any
	if err := json.Unmarshal(body, &f); err != nil {
		restReply(w, http.StatusBadRequest, `[{"errorCode":"JSON_PARSER_ERROR","message":"bad JSON"}]`)
		return
	}
	id := o.insert(object, f)
	jsonReply(w, http.StatusCreated, map[string]any{"id": id, "success": true, "errors": []any{}})
}

func (o *Org) sobject(w http.ResponseWriter, method, object, id string, body []byte) {
	r := o.records[id]
	if r == nil || r.object != object {
		notFound(w)
		return
	}
	switch method {
	case http.MethodGet:
		jsonReply(w, http.StatusOK, o.view(id, r))
	case http.MethodPatch:
		if b, _ := r.fields["IsConverted"].(bool); b && object == crm.Lead {
			restReply(w, http.StatusBadRequest, `[{"errorCode":"CANNOT_UPDATE_CONVERTED_LEAD","message":"cannot reference converted lead","fields":[]}]`)
			return
		}
		var f map[string]any
		if err := json.Unmarshal(body, &f); err != nil {
			restReply(w, http.StatusBadRequest, `[{"errorCode":"JSON_PARSER_ERROR","message":"bad JSON"}]`)
			return
		}
		for k, v := range f {
			if v == nil {
				delete(r.fields, k)
			} else {
				r.fields[k] = v
			}
		}
		r.stamp = o.tick()
		w.WriteHeader(http.StatusNoContent)
	case http.MethodDelete:
		delete(o.records, id)
		o.bin[id] = r
		w.WriteHeader(http.StatusNoContent)
	default:
		restReply(w, http.StatusMethodNotAllowed, `[{"errorCode":"METHOD_NOT_ALLOWED","message":"HTTP Method not allowed"}]`)
	}
}

var soqlRE = regexp.MustCompile(`^SELECT (.+?) FROM (\w+)(?: WHERE (.+?))?(?: ORDER BY (\w+) (ASC|DESC))?(?: LIMIT (\d+))?$`)

// query runs the SOQL the adapter writes: standard fields, conditions joined by AND and OR in
// parentheses, =, >, >=, LIKE on quoted literals, ORDER BY one field, LIMIT.
func (o *Org) query(w http.ResponseWriter, q string) {
	m := soqlRE.FindStringSubmatch(q)
	if m == nil {
		restReply(w, http.StatusBadRequest, `[{"message":"unexpected token","errorCode":"MALFORMED_QUERY"}]`)
		return
	}
	object := m[2]
	if object == "LeadStatus" {
		jsonReply(w, http.StatusOK, map[string]any{"totalSize": 1, "done": true,
			"records": []any{map[string]any{"attributes": map[string]any{"type": "LeadStatus"}, "MasterLabel": crm.DefaultConvertedStatus}}})
		return
	}
	var cond *node
	if m[3] != "" {
		p := &parser{toks: tokenize(m[3])}
		var err error
		if cond, err = p.or(); err != nil || p.i != len(p.toks) {
			restReply(w, http.StatusBadRequest, `[{"message":"unexpected token","errorCode":"MALFORMED_QUERY"}]`)
			return
		}
	}
	var ids []string
	for id, r := range o.records {
		if r.object == object && (cond == nil || cond.eval(o.view(id, r))) {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	if m[5] == "DESC" {
		sort.Sort(sort.Reverse(sort.StringSlice(ids)))
	}
	if m[6] != "" {
		if n, _ := strconv.Atoi(m[6]); n < len(ids) {
			ids = ids[:n]
		}
	}
	recs := make([]any, 0, len(ids))
	for _, id := range ids {
		recs = append(recs, o.view(id, o.records[id]))
	}
	jsonReply(w, http.StatusOK, map[string]any{"totalSize": len(recs), "done": true, "records": recs})
}

type tok struct {
	kind string // ( ) op lit word
	text string
}

func tokenize(s string) []tok {
	var out []tok
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ':
			i++
		case c == '(' || c == ')':
			out = append(out, tok{kind: string(c)})
			i++
		case c == '=' || c == '>' || c == '<' || c == '!':
			j := i + 1
			if j < len(s) && s[j] == '=' {
				j++
			}
			out = append(out, tok{kind: "op", text: s[i:j]})
			i = j
		case c == '\'':
			j := i + 1
			for j < len(s) && s[j] != '\'' {
				if s[j] == '\\' {
					j++
				}
				j++
			}
			out = append(out, tok{kind: "lit", text: s[i+1 : min(j, len(s))]})
			i = j + 1
		default:
			j := i
			for j < len(s) && s[j] != ' ' && s[j] != '(' && s[j] != ')' && s[j] != '=' && s[j] != '>' && s[j] != '<' {
				j++
			}
			w := s[i:j]
			if strings.EqualFold(w, "LIKE") {
				out = append(out, tok{kind: "op", text: "LIKE"})
			} else {
				out = append(out, tok{kind: "word", text: w})
			}
			i = j
		}
	}
	return out
}

type node struct {
	op          string // AND, OR, or a comparison
	kids        []*node
	field, lit  string
	quoted      bool
	likePattern *regexp.Regexp
}

type parser struct {
	toks []tok
	i    int
}

func (p *parser) peekWord(w string) bool {
	return p.i < len(p.toks) && p.toks[p.i].kind == "word" && strings.EqualFold(p.toks[p.i].text, w)
}

func (p *parser) or() (*node, error) {
	n, err := p.and()
	if err != nil {
		return nil, err
	}
	for p.peekWord("OR") {
		p.i++
		m, err := p.and()
		if err != nil {
			return nil, err
		}
		n = &node{op: "OR", kids: []*node{n, m}}
	}
	return n, nil
}

func (p *parser) and() (*node, error) {
	n, err := p.primary()
	if err != nil {
		return nil, err
	}
	for p.peekWord("AND") {
		p.i++
		m, err := p.primary()
		if err != nil {
			return nil, err
		}
		n = &node{op: "AND", kids: []*node{n, m}}
	}
	return n, nil
}

func (p *parser) primary() (*node, error) {
	if p.i < len(p.toks) && p.toks[p.i].kind == "(" {
		p.i++
		n, err := p.or()
		if err != nil {
			return nil, err
		}
		if p.i >= len(p.toks) || p.toks[p.i].kind != ")" {
			return nil, fmt.Errorf("missing )")
		}
		p.i++
		return n, nil
	}
	if p.i+3 > len(p.toks) {
		return nil, fmt.Errorf("short condition")
	}
	f, op, v := p.toks[p.i], p.toks[p.i+1], p.toks[p.i+2]
	if f.kind != "word" || op.kind != "op" || (v.kind != "lit" && v.kind != "word") {
		return nil, fmt.Errorf("bad condition")
	}
	p.i += 3
	n := &node{op: op.text, field: f.text, lit: v.text, quoted: v.kind == "lit"}
	if n.quoted {
		if op.text == "LIKE" {
			n.likePattern = likeRE(v.text)
		} else {
			n.lit = unescape(v.text)
		}
	}
	return n, nil
}

func unescape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			i++
			switch s[i] {
			case 'n':
				b.WriteByte('\n')
			case 'r':
				b.WriteByte('\r')
			case 't':
				b.WriteByte('\t')
			case 'b':
				b.WriteByte('\b')
			case 'f':
				b.WriteByte('\f')
			default:
				b.WriteByte(s[i])
			}
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// likeRE is a LIKE pattern as a case-insensitive regexp: % any run, _ one character, \x x.
func likeRE(p string) *regexp.Regexp {
	var b strings.Builder
	b.WriteString("(?is)^")
	for i := 0; i < len(p); i++ {
		switch c := p[i]; c {
		case '%':
			b.WriteString(".*")
		case '_':
			b.WriteString(".")
		case '\\':
			if i+1 < len(p) {
				i++
				b.WriteString(regexp.QuoteMeta(unescape(`\` + string(p[i]))))
			}
		default:
			b.WriteString(regexp.QuoteMeta(string(c)))
		}
	}
	b.WriteString("$")
	return regexp.MustCompile(b.String())
}

func (n *node) eval(rec map[string]any) bool {
	switch n.op {
	case "AND":
		return n.kids[0].eval(rec) && n.kids[1].eval(rec)
	case "OR":
		return n.kids[0].eval(rec) || n.kids[1].eval(rec)
	}
	v, ok := rec[n.field]
	if !ok || v == nil {
		return false
	}
	var s string
	switch x := v.(type) {
	case string:
		s = x
	case bool:
		s = strconv.FormatBool(x)
	default:
		s = fmt.Sprint(x)
	}
	switch n.op {
	case "LIKE":
		return n.likePattern.MatchString(s)
	case "=":
		return strings.EqualFold(s, n.lit)
	case "!=":
		return !strings.EqualFold(s, n.lit)
	case ">":
		return s > n.lit
	case ">=":
		return s >= n.lit
	case "<":
		return s < n.lit
	}
	return false
}

// xnode reads any XML element tree.
type xnode struct {
	XMLName xml.Name
	Text    string  `xml:",chardata"`
	Kids    []xnode `xml:",any"`
}

// parseSOAP returns the call of an envelope and its elements, flattened.
func parseSOAP(body []byte) (string, []Element) {
	var env struct {
		Body struct {
			Call xnode `xml:",any"`
		} `xml:"Body"`
	}
	if xml.Unmarshal(body, &env) != nil {
		return "", nil
	}
	var out []Element
	var walk func(prefix string, n xnode)
	walk = func(prefix string, n xnode) {
		for _, k := range n.Kids {
			p := k.XMLName.Local
			if prefix != "" {
				p = prefix + "/" + p
			}
			if len(k.Kids) == 0 {
				out = append(out, Element{Path: p, Text: strings.TrimSpace(k.Text)})
			} else {
				walk(p, k)
			}
		}
	}
	walk("", env.Body.Call)
	return env.Body.Call.XMLName.Local, out
}

func soapReply(w http.ResponseWriter, status int, inner string) {
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	w.WriteHeader(status)
	io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?>`+"\n"+ //nolint:errcheck
		`<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns="urn:partner.soap.sforce.com" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">`+
		`<soapenv:Header><LimitInfoHeader><limitInfo><current>52</current><limit>5000</limit><type>API REQUESTS</type></limitInfo></LimitInfoHeader></soapenv:Header>`+
		`<soapenv:Body>`+inner+`</soapenv:Body></soapenv:Envelope>`)
}

func esc(s string) string {
	var b strings.Builder
	xml.EscapeText(&b, []byte(s)) //nolint:errcheck
	return b.String()
}

func soapErr(code, msg string) string {
	return `<errors><message>` + esc(msg) + `</message><statusCode>` + code + `</statusCode></errors>`
}

func (o *Org) soapCall(w http.ResponseWriter, req Request) {
	switch req.Action {
	case "convertLead":
		soapReply(w, http.StatusOK, `<convertLeadResponse><result>`+o.convertLead(req)+`</result></convertLeadResponse>`)
	case "merge":
		soapReply(w, http.StatusOK, `<mergeResponse><result>`+o.merge(req)+`</result></mergeResponse>`)
	case "undelete":
		var b strings.Builder
		b.WriteString(`<undeleteResponse>`)
		for _, id := range req.Values("ids") {
			r := o.bin[id]
			if r == nil {
				b.WriteString(`<result>` + soapErr("UNDELETE_FAILED", "Entity is not in the recycle bin") + `<id xsi:nil="true"/><success>false</success></result>`)
				continue
			}
			delete(o.bin, id)
			r.stamp = o.tick()
			o.records[id] = r
			b.WriteString(`<result><id>` + id + `</id><success>true</success></result>`)
		}
		b.WriteString(`</undeleteResponse>`)
		soapReply(w, http.StatusOK, b.String())
	default:
		soapReply(w, http.StatusInternalServerError, `<soapenv:Fault><faultcode>sf:INVALID_OPERATION</faultcode><faultstring>INVALID_OPERATION: unknown call</faultstring></soapenv:Fault>`)
	}
}

const convertFail = `<accountId xsi:nil="true"/><contactId xsi:nil="true"/>%s<leadId xsi:nil="true"/><opportunityId xsi:nil="true"/><success>false</success>`

// convertLead converts as Salesforce does: attach or create the account, merge into or create
// the contact (filling blank fields from the lead), create the opportunity unless told not to,
// mark the lead converted.
func (o *Org) convertLead(req Request) string {
	get := func(f string) string { return req.Value("leadConverts/" + f) }
	leadID := get("leadId")
	lead := o.records[leadID]
	if lead == nil || lead.object != crm.Lead {
		return fmt.Sprintf(convertFail, soapErr("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id"))
	}
	if b, _ := lead.fields["IsConverted"].(bool); b {
		return fmt.Sprintf(convertFail, soapErr("CANNOT_UPDATE_CONVERTED_LEAD", "cannot reference converted lead"))
	}
	status := get("convertedStatus")
	if status == "" {
		return fmt.Sprintf(convertFail, soapErr("REQUIRED_FIELD_MISSING", "Required field is missing: ConvertedStatus"))
	}
	owner := get("ownerId")
	if owner == "" {
		owner = str(lead.fields["OwnerId"])
	}
	withOwner := func(f map[string]any) map[string]any {
		if owner != "" {
			f["OwnerId"] = owner
		}
		return f
	}
	fill := func(r *record, from map[string]any) {
		changed := false
		for k, v := range from {
			if crm.Empty(r.fields[k]) && !crm.Empty(v) {
				r.fields[k] = v
				changed = true
			}
		}
		if changed {
			r.stamp = o.tick()
		}
	}
	acctID := get("accountId")
	if acctID != "" {
		a := o.records[acctID]
		if a == nil || a.object != crm.Account {
			return fmt.Sprintf(convertFail, soapErr("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id"))
		}
		fill(a, crm.LeadAccountFields(lead.fields))
	} else {
		acctID = o.insert(crm.Account, withOwner(crm.LeadAccountFields(lead.fields)))
	}
	contactID := get("contactId")
	if contactID != "" {
		c := o.records[contactID]
		if c == nil || c.object != crm.Contact || str(c.fields["AccountId"]) != acctID {
			return fmt.Sprintf(convertFail, soapErr("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id"))
		}
		fill(c, crm.LeadContactFields(lead.fields))
	} else {
		f := withOwner(crm.LeadContactFields(lead.fields))
		f["AccountId"] = acctID
		contactID = o.insert(crm.Contact, f)
	}
	oppID := ""
	if get("doNotCreateOpportunity") != "true" {
		f := withOwner(crm.LeadOpportunityFields(lead.fields, get("opportunityName"), o.clock))
		f["AccountId"] = acctID
		oppID = o.insert(crm.Opportunity, f)
	}
	lead.fields["IsConverted"] = true
	lead.fields["ConvertedAccountId"] = acctID
	lead.fields["ConvertedContactId"] = contactID
	lead.fields["ConvertedDate"] = o.clock.Format(time.DateOnly)
	lead.fields["Status"] = status
	if owner != "" {
		lead.fields["OwnerId"] = owner
	}
	opp := `<opportunityId xsi:nil="true"/>`
	if oppID != "" {
		lead.fields["ConvertedOpportunityId"] = oppID
		opp = `<opportunityId>` + oppID + `</opportunityId>`
	}
	lead.stamp = o.tick()
	return `<accountId>` + acctID + `</accountId><contactId>` + contactID + `</contactId><leadId>` + leadID + `</leadId>` + opp +
		`<relatedPersonAccountId xsi:nil="true"/><success>true</success>`
}

// merge writes the master's fields, re-parents the duplicates' children (AccountId of contacts
// and opportunities; ContactId of any record) and deletes the duplicates.
func (o *Org) merge(req Request) string {
	fail := func(code, msg string) string {
		return soapErr(code, msg) + `<id xsi:nil="true"/><success>false</success>`
	}
	object := req.Value("request/masterRecord/type")
	masterID := req.Value("request/masterRecord/Id")
	m := o.records[masterID]
	if m == nil || m.object != object {
		return fail("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id")
	}
	dups := req.Values("request/recordToMergeIds")
	if len(dups) == 0 || len(dups) > 2 {
		return fail("INVALID_OPERATION", "A single merge request must contain at least one record to merge and at most two")
	}
	for _, d := range dups {
		if r := o.records[d]; r == nil || r.object != object {
			return fail("ENTITY_IS_DELETED", "entity is deleted")
		}
	}
	for _, e := range req.SOAP {
		name, ok := strings.CutPrefix(e.Path, "request/masterRecord/")
		if !ok || name == "type" || name == "Id" {
			continue
		}
		if name == "fieldsToNull" {
			delete(m.fields, e.Text)
			continue
		}
		var v any = e.Text
		if n, err := strconv.ParseFloat(e.Text, 64); err == nil && strings.TrimSpace(e.Text) != "" && !strings.ContainsAny(e.Text, "+ ") {
			if _, isNum := m.fields[name].(float64); isNum {
				v = n
			}
		}
		if e.Text == "true" || e.Text == "false" {
			if _, isBool := m.fields[name].(bool); isBool {
				v = e.Text == "true"
			}
		}
		m.fields[name] = v
	}
	m.stamp = o.tick()
	field := map[string]string{crm.Account: "AccountId", crm.Contact: "ContactId", crm.Lead: ""}[object]
	var related []string
	if field != "" {
		for id, r := range o.records {
			for _, d := range dups {
				if str(r.fields[field]) == d {
					r.fields[field] = masterID
					r.stamp = o.tick()
					related = append(related, id)
				}
			}
		}
	}
	sort.Strings(related)
	var b strings.Builder
	b.WriteString(`<id>` + masterID + `</id>`)
	for _, d := range dups {
		r := o.records[d]
		r.fields["MasterRecordId"] = masterID
		delete(o.records, d)
		o.bin[d] = r
		b.WriteString(`<mergedRecordIds>` + d + `</mergedRecordIds>`)
	}
	b.WriteString(`<success>true</success>`)
	for _, id := range related {
		b.WriteString(`<updatedRelatedIds>` + id + `</updatedRelatedIds>`)
	}
	return b.String()
}
