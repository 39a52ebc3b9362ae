package enrich

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"golang.org/x/net/html"

	"github.com/lanternhq/lantern/internal/enrich/llm"
)

// Deep research, step by step. Each function is one step of the research workflow; the
// workflow orders them, keeps the budget and records progress. Every text that came from the
// web or from the caller's record goes through llm.Fence, so that a page saying "ignore your
// instructions" is read as data.

// Note is one finding from one page, with the words that support it.
type Note struct {
	Claim string `json:"claim"`
	Quote string `json:"quote"`
}

// Citation is a numbered source of a research report.
type Citation struct {
	N     int    `json:"n"`
	URL   string `json:"url"`
	Title string `json:"title,omitempty"`
}

// SourceNotes are the notes taken from one page.
type SourceNotes struct {
	Citation
	Notes []Note `json:"notes"`
}

const researchSystem = "You are a research assistant for a B2B sales and marketing team. " + llm.DataInstructions

var planSchema = json.RawMessage(`{"type":"object","additionalProperties":false,"required":["queries"],
 "properties":{"queries":{"type":"array","minItems":1,"maxItems":6,"items":{"type":"string","minLength":3,"maxLength":200}}}}`)

// PlanQueries asks the model for web search queries that would answer the question.
func PlanQueries(ctx context.Context, c *llm.Client, question string, subject Record, max int) ([]string, llm.Usage, error) {
	res, err := c.Generate(ctx, llm.Request{
		System: researchSystem + fmt.Sprintf(" Plan up to %d distinct web search queries that together answer the question "+
			"about the subject. Prefer queries that find primary sources (the subject's own site, filings, reputable press).", max),
		User:       "Question:\n" + llm.Fence("question", question) + "\nSubject:\n" + llm.Fence("subject", recordJSON(subject)),
		Schema:     planSchema,
		SchemaName: "research_plan",
	})
	if err != nil {
		return nil, res.Usage, err
	}
	var out struct {
		Queries []string `json:"queries"`
	}
	if err := json.Unmarshal(res.JSON, &out); err != nil {
		return nil, res.Usage, err
	}
	if len(out.Queries) > max {
		out.Queries = out.Queries[:max]
	}
	return out.Queries, res.Usage, nil
}

var notesSchema = json.RawMessage(`{"type":"object","additionalProperties":false,"required":["notes"],
 "properties":{"notes":{"type":"array","maxItems":8,"items":{"type":"object","additionalProperties":false,
  "required":["claim","quote"],"properties":{"claim":{"type":"string","maxLength":500},"quote":{"type":"string","maxLength":500}}}}}}`)

// ExtractNotes asks the model for the facts on one page that bear on the question, each with
// a verbatim quote. A page with nothing relevant gives no notes.
func ExtractNotes(ctx context.Context, c *llm.Client, question, pageURL, title, text string) ([]Note, llm.Usage, error) {
	res, err := c.Generate(ctx, llm.Request{
		System: researchSystem + " Extract the facts on the page that help answer the question. Each note is a short " +
			"claim and a verbatim quote from the page that supports it. Leave out anything the page does not say.",
		User: "Question:\n" + llm.Fence("question", question) + "\nPage " + pageURL + " (" + title + "):\n" +
			llm.Fence("page", text),
		Schema:     notesSchema,
		SchemaName: "page_notes",
	})
	if err != nil {
		return nil, res.Usage, err
	}
	var out struct {
		Notes []Note `json:"notes"`
	}
	if err := json.Unmarshal(res.JSON, &out); err != nil {
		return nil, res.Usage, err
	}
	return out.Notes, res.Usage, nil
}

// WriteReport asks the model for a report from the notes alone, citing them as [n].
func WriteReport(ctx context.Context, c *llm.Client, question string, subject Record, sources []SourceNotes) (string, llm.Usage, error) {
	var b strings.Builder
	for _, s := range sources {
		fmt.Fprintf(&b, "[%d] %s %s\n", s.N, s.URL, s.Title)
		for _, n := range s.Notes {
			fmt.Fprintf(&b, "- %s (quote: %q)\n", n.Claim, n.Quote)
		}
	}
	res, err := c.Chat(ctx, []llm.Message{
		{Role: llm.RoleSystem, Content: researchSystem + " Write a concise report in Markdown that answers the question " +
			"using only the numbered notes. Cite every statement with its source number in brackets, like [1] or [2][3]. " +
			"Say plainly what the notes do not establish. Do not add a sources list; it is appended for you."},
		{Role: llm.RoleUser, Content: "Question:\n" + llm.Fence("question", question) + "\nSubject:\n" +
			llm.Fence("subject", recordJSON(subject)) + "\nNotes:\n" + llm.Fence("notes", b.String())},
	})
	if err != nil {
		return "", res.Usage, err
	}
	return strings.TrimSpace(res.Content), res.Usage, nil
}

// AppendSources adds the numbered sources under a report.
func AppendSources(report string, sources []Citation) string {
	if len(sources) == 0 {
		return report
	}
	var b strings.Builder
	b.WriteString(report)
	b.WriteString("\n\n## Sources\n\n")
	for _, s := range sources {
		title := s.Title
		if title == "" {
			title = s.URL
		}
		fmt.Fprintf(&b, "%d. [%s](%s)\n", s.N, strings.ReplaceAll(title, "]", ")"), s.URL)
	}
	return b.String()
}

func recordJSON(r Record) string {
	clean := Record{}
	for k, v := range r {
		if v != "" {
			clean[k] = v
		}
	}
	b, _ := json.Marshal(clean)
	return string(b)
}

// PageText returns a page's title and its readable text: scripts, styles, navigation and
// forms dropped, whitespace collapsed, at most max bytes.
func PageText(body []byte, max int) (title, text string) {
	doc, err := html.Parse(bytes.NewReader(body))
	if err != nil {
		return "", ""
	}
	var b strings.Builder
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if b.Len() >= max {
			return
		}
		if n.Type == html.ElementNode {
			switch n.Data {
			case "script", "style", "noscript", "nav", "footer", "form", "svg", "iframe", "template":
				return
			case "title":
				if title == "" && n.FirstChild != nil {
					title = strings.TrimSpace(n.FirstChild.Data)
				}
				return
			}
		}
		if n.Type == html.TextNode {
			if t := strings.Join(strings.Fields(n.Data), " "); t != "" {
				if b.Len() > 0 {
					b.WriteByte(' ')
				}
				b.WriteString(t)
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	text = b.String()
	if len(text) > max {
		text = text[:max]
		for len(text) > 0 && !utf8ValidEnd(text) {
			text = text[:len(text)-1]
		}
	}
	return title, text
}

func utf8ValidEnd(s string) bool {
	r := s[len(s)-1]
	return r < 0x80 || strings.ToValidUTF8(s, "") == s
}

// ResearchJob is the cache identity of a research request: the question and the subject.
func ResearchJob(org uuid.UUID, recordID, question string, subject Record) Job {
	rec := Record{"question": question}
	for k, v := range subject {
		rec["subject."+k] = v
	}
	return Job{OrgID: org, Service: Research, RecordID: recordID, Record: rec}
}

// ResearchProgress is what a running research answers to its progress query.
type ResearchProgress struct {
	Stage        string   `json:"stage" enum:"planning,searching,reading,writing,done" doc:"The step under way"`
	Queries      []string `json:"queries"`
	PagesPlanned int      `json:"pages_planned"`
	PagesRead    int      `json:"pages_read"`
	Notes        int      `json:"notes"`
	CreditsUsed  int64    `json:"credits_used"`
}

// ResearchResult is a finished research run.
type ResearchResult struct {
	Status      string     `json:"status" enum:"complete,budget_exhausted,no_sources"`
	Report      string     `json:"report"`
	Citations   []Citation `json:"citations"`
	Queries     []string   `json:"queries"`
	CreditsUsed int64      `json:"credits_used"`
	Steps       []Attempt  `json:"steps"`
}

// ResearchOutcome presents a run like every other enrichment. Its confidence grows with the
// sources the report could cite: one source is plausible, several agreeing ones likely.
func ResearchOutcome(r ResearchResult, observed time.Time) *Outcome {
	conf := 0.0
	switch n := len(r.Citations); {
	case n >= 3:
		conf = 0.75
	case n == 2:
		conf = 0.65
	case n == 1:
		conf = 0.5
	}
	src := Source{Provider: "research", Method: "search+read+llm"}
	field := func(v any) Result { return Result{Value: v, Confidence: conf, Source: src, ObservedAt: observed} }
	return &Outcome{Service: Research, CreditsUsed: r.CreditsUsed, Confidence: conf, Attempts: r.Steps,
		Fields: map[string]Result{"report": field(r.Report), "citations": field(r.Citations), "queries": field(r.Queries),
			"research_status": field(r.Status)}}
}
