package llm

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"golang.org/x/text/language"
	"golang.org/x/text/message"

	"github.com/lanternhq/lantern/internal/enrich/httpx"
)

const (
	// schemaURL names the client's schema inside the compiler; it never leaves the process.
	schemaURL = "urn:lantern:schema"
	// maxSchemaBytes bounds compile time and prompt size for client-supplied schemas.
	maxSchemaBytes = 256 << 10
	// maxProblems keeps repair prompts and error messages short.
	maxProblems = 20
)

// CompileSchema checks that raw is a JSON Schema this package can enforce: JSON, an object or
// boolean, valid against its metaschema ($schema chooses draft 2020-12, 2019-09, 07, 06 or 04;
// 2020-12 when absent), with $ref only to places inside the schema. The error is a
// *SchemaError whose Reason says what is wrong, for a 4xx against body.schema.
func CompileSchema(raw json.RawMessage) error {
	_, err := compileSchema(raw)
	return err
}

func compileSchema(raw json.RawMessage) (*jsonschema.Schema, error) {
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil, &SchemaError{Reason: "is empty"}
	}
	if len(raw) > maxSchemaBytes {
		return nil, &SchemaError{Reason: fmt.Sprintf("is larger than %d KiB", maxSchemaBytes>>10)}
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return nil, &SchemaError{Reason: "is not valid JSON: " + err.Error()}
	}
	switch doc.(type) {
	case map[string]any, bool:
	default:
		return nil, &SchemaError{Reason: "must be a JSON object (or true/false)"}
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	// The default loader reads local files; a client's $ref must never reach the disk or network.
	c.UseLoader(refuseLoader{})
	declared := ""
	if m, ok := doc.(map[string]any); ok {
		declared, _ = m["$schema"].(string)
	}
	if err := c.AddResource(schemaURL, doc); err != nil {
		return nil, &SchemaError{Reason: describeCompileError(err, declared)}
	}
	sch, err := c.Compile(schemaURL)
	if err != nil {
		return nil, &SchemaError{Reason: describeCompileError(err, declared)}
	}
	return sch, nil
}

type refuseLoader struct{}

func (refuseLoader) Load(u string) (any, error) {
	return nil, fmt.Errorf("external reference %s is not allowed", u)
}

const supportedDrafts = "use https://json-schema.org/draft/2020-12/schema or http://json-schema.org/draft-07/schema#"

// describeCompileError turns the compiler's error into a sentence for the client; declared is
// the schema's own $schema, so a failed metaschema load is reported as an unsupported draft.
func describeCompileError(err error, declared string) string {
	var (
		sve   *jsonschema.SchemaValidationError
		load  *jsonschema.LoadURLError
		draft *jsonschema.UnsupportedDraftError
		re    *jsonschema.InvalidRegexError
		ptr   *jsonschema.JSONPointerNotFoundError
	)
	switch {
	case errors.As(err, &sve):
		return "is not a valid JSON Schema: " + strings.Join(validationProblems(sve.Err), "; ")
	case errors.As(err, &draft):
		return "uses an unsupported $schema " + draft.URL + "; " + supportedDrafts
	case errors.As(err, &load) && declared != "" && strings.TrimSuffix(load.URL, "#") == strings.TrimSuffix(declared, "#"):
		return "uses an unsupported $schema " + declared + "; " + supportedDrafts
	case errors.As(err, &load):
		return "refers to " + load.URL + "; only references inside the schema ($ref \"#/...\") are supported"
	case errors.As(err, &ptr):
		return "has a $ref to " + strings.TrimPrefix(ptr.URL, schemaURL) + ", which does not exist in the schema"
	case errors.As(err, &re):
		return fmt.Sprintf("has a pattern %q that is not a valid regular expression: %v", re.Regex, re.Err)
	}
	return "cannot be compiled: " + scrubSchemaURL(err.Error())
}

func scrubSchemaURL(s string) string { return strings.ReplaceAll(s, schemaURL, "schema") }

// validationProblems lists the leaves of a validation error as "at /path: message": the
// leaves say what is wrong, the inner nodes only say which combinator failed.
func validationProblems(err error) []string {
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return []string{scrubSchemaURL(err.Error())}
	}
	var out []string
	seen := map[string]bool{}
	var walk func(*jsonschema.ValidationError)
	walk = func(e *jsonschema.ValidationError) {
		if len(out) == maxProblems {
			return
		}
		if len(e.Causes) > 0 {
			for _, c := range e.Causes {
				walk(c)
			}
			return
		}
		p := "at " + instancePath(e.InstanceLocation) + ": " + scrubSchemaURL(e.ErrorKind.LocalizedString(printer))
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	walk(ve)
	if len(out) == 0 {
		out = append(out, "at /: "+scrubSchemaURL(ve.ErrorKind.LocalizedString(printer)))
	}
	return out
}

var printer = message.NewPrinter(language.English)

// instancePath renders a JSON pointer, escaping "~" and "/" in keys.
func instancePath(tokens []string) string {
	if len(tokens) == 0 {
		return "/"
	}
	var b strings.Builder
	for _, t := range tokens {
		b.WriteByte('/')
		b.WriteString(strings.ReplaceAll(strings.ReplaceAll(t, "~", "~0"), "/", "~1"))
	}
	return b.String()
}

var codeFence = regexp.MustCompile("(?s)^```[a-zA-Z0-9_-]*[ \t]*\r?\n(.*?)\r?\n?```$")

// checkOutput parses the model's text as one JSON value and validates it. It returns the
// compacted JSON, or the problems to show the model in a repair turn. Local models sometimes
// wrap JSON in a markdown fence despite response_format; that fence is tolerated.
func checkOutput(sch *jsonschema.Schema, content string) (json.RawMessage, []string) {
	s := strings.TrimSpace(strings.ToValidUTF8(content, "\uFFFD"))
	if m := codeFence.FindStringSubmatch(s); m != nil {
		s = strings.TrimSpace(m[1])
	}
	if s == "" {
		return nil, []string{"the reply was empty; a JSON value was expected"}
	}
	inst, err := jsonschema.UnmarshalJSON(strings.NewReader(s))
	if err != nil {
		return nil, []string{"the reply is not valid JSON: " + httpx.Shorten(err.Error(), 200)}
	}
	if err := sch.Validate(inst); err != nil {
		return nil, validationProblems(err)
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, []byte(s)); err != nil {
		return nil, []string{"the reply is not valid JSON: " + httpx.Shorten(err.Error(), 200)}
	}
	return json.RawMessage(buf.Bytes()), nil
}

// providerSchema is the schema as sent in response_format: the top-level $schema and $id
// only matter to our own validator, and strict structured-output modes reject keywords they
// do not know, so they are dropped.
func providerSchema(raw json.RawMessage) json.RawMessage {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return raw
	}
	_, hasSchema := m["$schema"]
	_, hasID := m["$id"]
	if !hasSchema && !hasID {
		return raw
	}
	delete(m, "$schema")
	delete(m, "$id")
	out, err := json.Marshal(m)
	if err != nil {
		return raw
	}
	return out
}

var schemaNameChars = regexp.MustCompile(`[^a-zA-Z0-9_-]+`)

// schemaName meets OpenAI's rule for json_schema.name: ^[a-zA-Z0-9_-]{1,64}$.
func schemaName(name string) string {
	name = strings.Trim(schemaNameChars.ReplaceAllString(name, "_"), "_")
	if name == "" {
		return "result"
	}
	if len(name) > 64 {
		name = name[:64]
	}
	return name
}
