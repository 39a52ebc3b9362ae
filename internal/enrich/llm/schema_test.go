package llm_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/lanternhq/lantern/internal/enrich/llm"
)

func TestCompileSchemaAccepts(t *testing.T) {
	valid := map[string]string{
		"2020-12 explicit":                  string(companySchema),
		"no $schema defaults to 2020-12":    `{"type":"object","properties":{"tags":{"type":"array","items":{"$ref":"#/$defs/tag"}}},"$defs":{"tag":{"type":"string"}}}`,
		"draft-07":                          `{"$schema":"http://json-schema.org/draft-07/schema#","type":"object","definitions":{"n":{"type":"integer"}},"properties":{"n":{"$ref":"#/definitions/n"}}}`,
		"draft-04 boolean exclusiveMinimum": `{"$schema":"http://json-schema.org/draft-04/schema#","type":"number","minimum":0,"exclusiveMinimum":true}`,
		"boolean schema":                    `true`,
	}
	for name, s := range valid {
		if err := llm.CompileSchema(json.RawMessage(s)); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestCompileSchemaRejects(t *testing.T) {
	cases := []struct {
		name, schema, want string
	}{
		{"empty", ``, "is empty"},
		{"not JSON", `{"type": "object",}`, "not valid JSON"},
		{"array", `[{"type":"string"}]`, "must be a JSON object"},
		{"unknown type", `{"type": "strng"}`, "not a valid JSON Schema"},
		{"required not array", `{"type":"object","required":"name"}`, "/required"},
		{"2020-12 boolean exclusiveMinimum", `{"type":"number","exclusiveMinimum":true}`, "exclusiveMinimum"},
		{"bad regex", `{"type":"string","pattern":"(?<=a)b"}`, "is not valid regex"},
		{"remote ref", `{"$ref":"https://example.com/schemas/company.json"}`, "only references inside the schema"},
		{"file ref", `{"$ref":"file:///etc/passwd"}`, "only references inside the schema"},
		{"unknown metaschema", `{"$schema":"https://example.com/my-meta","type":"object"}`, "unsupported $schema https://example.com/my-meta"},
		{"dangling local ref", `{"$ref":"#/$defs/missing"}`, "#/$defs/missing, which does not exist"},
	}
	for _, tc := range cases {
		err := llm.CompileSchema(json.RawMessage(tc.schema))
		var se *llm.SchemaError
		if !errors.Is(err, llm.ErrInvalidSchema) || !errors.As(err, &se) {
			t.Errorf("%s: err = %v", tc.name, err)
			continue
		}
		if !strings.Contains(se.Reason, tc.want) {
			t.Errorf("%s: reason %q does not mention %q", tc.name, se.Reason, tc.want)
		}
		t.Logf("%s: %s", tc.name, se.Reason)
		if strings.Contains(se.Reason, "urn:lantern") {
			t.Errorf("%s: reason leaks the internal schema URL: %q", tc.name, se.Reason)
		}
	}
}

func TestCompileSchemaRejectsHugeSchema(t *testing.T) {
	big := `{"description":"` + strings.Repeat("x", 300<<10) + `"}`
	if err := llm.CompileSchema(json.RawMessage(big)); !errors.Is(err, llm.ErrInvalidSchema) {
		t.Fatalf("err = %v", err)
	}
}

func TestCheckOutput(t *testing.T) {
	cases := []struct {
		name, content string
		ok            bool
		want          string
	}{
		{"valid", ` {"name":"A","employees":3} `, true, `{"name":"A","employees":3}`},
		{"fenced", "```json\n{\"name\":\"A\",\"employees\":3}\n```", true, `{"name":"A","employees":3}`},
		{"prose", `Sure! {"name":"A","employees":3}`, false, "not valid JSON"},
		{"trailing text", `{"name":"A","employees":3} hope this helps`, false, "not valid JSON"},
		{"two values", `{"name":"A","employees":3}{"name":"B","employees":4}`, false, "not valid JSON"},
		{"missing field", `{"name":"A"}`, false, "missing property"},
		{"extra field", `{"name":"A","employees":3,"ceo":"x"}`, false, "additional"},
		{"negative", `{"name":"A","employees":-1}`, false, "at /employees"},
		{"empty", "  ", false, "empty"},
	}
	for _, tc := range cases {
		out, problems, err := llm.CheckOutput(companySchema, tc.content)
		if err != nil {
			t.Fatal(err)
		}
		if tc.ok {
			if problems != nil || string(out) != tc.want {
				t.Errorf("%s: out=%s problems=%v", tc.name, out, problems)
			}
			continue
		}
		if problems == nil || !strings.Contains(strings.Join(problems, "\n"), tc.want) {
			t.Errorf("%s: problems %v do not mention %q", tc.name, problems, tc.want)
		}
	}
}
