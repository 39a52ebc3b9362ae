package llm

import (
	"context"
	"encoding/json"
	"time"
)

// SetSleep replaces the retry wait so tests neither sleep nor guess how long they slept.
func SetSleep(c *Client, f func(context.Context, time.Duration) error) { c.t.Sleep = f }

// CheckOutput exposes the parser the fuzz target drives.
func CheckOutput(schema json.RawMessage, content string) (json.RawMessage, []string, error) {
	sch, err := compileSchema(schema)
	if err != nil {
		return nil, nil, err
	}
	out, problems := checkOutput(sch, content)
	return out, problems, nil
}

// ParseCompletion exposes the response parser to the fuzz target.
func ParseCompletion(c *Client, body []byte) (string, error) {
	comp, err := c.parse(body)
	return comp.content, err
}

// ParseError exposes the error-body parser to the fuzz target.
func ParseError(body []byte) (code, param, message string) { return parseOpenAIError(0, body) }
