package salesforce

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"

	"github.com/lanternhq/lantern/internal/apperr"
	"github.com/lanternhq/lantern/internal/crm"
)

// sfError is one Salesforce error: REST error arrays carry errorCode, sObject Collections
// results and SOAP results statusCode. DUPLICATES_DETECTED adds the duplicate result, under
// "duplicateResut" (Salesforce's own spelling in REST answers) or "duplicateResult".
type sfError struct {
	Message    string           `json:"message" xml:"message"`
	ErrorCode  string           `json:"errorCode"`
	StatusCode string           `json:"statusCode" xml:"statusCode"`
	Fields     []string         `json:"fields" xml:"fields"`
	DupResut   *duplicateResult `json:"duplicateResut"`
	DupResult  *duplicateResult `json:"duplicateResult" xml:"duplicateResult"`
}

func (e *sfError) code() string {
	if e.ErrorCode != "" {
		return e.ErrorCode
	}
	return e.StatusCode
}

func (e *sfError) duplicates() *duplicateResult {
	if e.DupResult != nil {
		return e.DupResult
	}
	return e.DupResut
}

type duplicateResult struct {
	AllowSave               bool   `json:"allowSave" xml:"allowSave"`
	DuplicateRule           string `json:"duplicateRule" xml:"duplicateRule"`
	DuplicateRuleEntityType string `json:"duplicateRuleEntityType" xml:"duplicateRuleEntityType"`
	MatchResults            []struct {
		EntityType   string `json:"entityType" xml:"entityType"`
		Rule         string `json:"rule" xml:"rule"`
		MatchRecords []struct {
			MatchConfidence float64 `json:"matchConfidence" xml:"matchConfidence"`
			Record          struct {
				ID string `json:"Id" xml:"Id"`
			} `json:"record" xml:"record"`
		} `json:"matchRecords" xml:"matchRecords"`
	} `json:"matchResults" xml:"matchResults"`
}

// parseRESTErrors reads a REST error array; a body that is not one gives nil.
func parseRESTErrors(body []byte) []sfError {
	var errs []sfError
	if json.Unmarshal(body, &errs) != nil {
		return nil
	}
	return errs
}

// DuplicateError is the cause of a conflict error when a Salesforce duplicate rule blocked a
// write: the rule, and the existing records it matched.
type DuplicateError struct {
	Object     string   // the object the rule is on
	Rule       string   // the duplicate rule's developer name
	MatchRules []string // the matching rules that fired
	MatchedIDs []string // existing records the rule matched
}

func (e *DuplicateError) Error() string {
	return fmt.Sprintf("salesforce duplicate rule %s matched %s", e.Rule, strings.Join(e.MatchedIDs, ", "))
}

// Duplicates is the DuplicateError inside err, if a duplicate rule caused it.
func Duplicates(err error) (*DuplicateError, bool) {
	var d *DuplicateError
	ok := errors.As(err, &d)
	return d, ok
}

func (d *duplicateResult) toError() *DuplicateError {
	out := &DuplicateError{Object: d.DuplicateRuleEntityType, Rule: d.DuplicateRule}
	for _, mr := range d.MatchResults {
		if mr.Rule != "" {
			out.MatchRules = append(out.MatchRules, mr.Rule)
		}
		if out.Object == "" {
			out.Object = mr.EntityType
		}
		for _, rec := range mr.MatchRecords {
			if rec.Record.ID != "" {
				out.MatchedIDs = append(out.MatchedIDs, rec.Record.ID)
			}
		}
	}
	return out
}

// Salesforce error codes by the class of apperr they become.
var (
	invalidCodes = map[string]string{
		"REQUIRED_FIELD_MISSING":                  "is required by Salesforce",
		"INVALID_FIELD":                           "is not a field Salesforce accepts here",
		"INVALID_FIELD_FOR_INSERT_UPDATE":         "cannot be written in Salesforce",
		"MALFORMED_ID":                            "is not a valid Salesforce id",
		"INVALID_ID_FIELD":                        "is not a valid Salesforce id",
		"INVALID_CROSS_REFERENCE_KEY":             "refers to a record that does not exist",
		"FIELD_CUSTOM_VALIDATION_EXCEPTION":       "failed a Salesforce validation rule",
		"FIELD_INTEGRITY_EXCEPTION":               "has a value Salesforce does not accept",
		"INVALID_TYPE":                            "is of a type Salesforce does not accept",
		"INVALID_TYPE_ON_FIELD_IN_RECORD":         "is of a type Salesforce does not accept",
		"STRING_TOO_LONG":                         "is longer than Salesforce allows",
		"INVALID_EMAIL_ADDRESS":                   "is not an email address",
		"INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST": "is not one of the picklist's values",
		"NUMBER_OUTSIDE_VALID_RANGE":              "is out of range",
		"JSON_PARSER_ERROR":                       "could not be read by Salesforce",
		"MALFORMED_QUERY":                         "made a query Salesforce could not read",
		"INVALID_QUERY_FILTER_OPERATOR":           "cannot be filtered on",
		"INVALID_STATUS":                          "is not a valid status",
		"INVALID_OPERATION":                       "cannot be changed this way",
		"CANNOT_UPDATE_CONVERTED_LEAD":            "is a converted lead, which cannot change",
		"INVALID_MASTER_OR_TRANSLATED_SOLUTION":   "is not a valid master record",
		"INVALID_EMPTY_KEY_OWNER":                 "needs an owner",
	}
	notFoundCodes = set("NOT_FOUND", "ENTITY_IS_DELETED")
	conflictCodes = set("DUPLICATES_DETECTED", "DUPLICATE_VALUE", "DUPLICATE_EXTERNAL_ID", "ENTITY_IS_LOCKED", "UNDELETE_FAILED")
	accessCodes   = set("INSUFFICIENT_ACCESS", "INSUFFICIENT_ACCESS_OR_READONLY", "INSUFFICIENT_ACCESS_ON_CROSS_REFERENCE_ENTITY",
		"API_DISABLED_FOR_ORG", "API_CURRENTLY_DISABLED")
	transientCodes = set("UNABLE_TO_LOCK_ROW", "SERVER_UNAVAILABLE", "REQUEST_LIMIT_EXCEEDED", "QUERY_TIMEOUT", "INVALID_SESSION_ID")
	noSuchColumn   = regexp.MustCompile(`No such column '([A-Za-z][A-Za-z0-9_]*)'`)
	requiredList   = regexp.MustCompile(`Required fields are missing: \[([A-Za-z][A-Za-z0-9_]*)`)
)

func set(codes ...string) map[string]bool {
	m := make(map[string]bool, len(codes))
	for _, c := range codes {
		m[c] = true
	}
	return m
}

// op describes the call an error came from, for client-facing messages.
type op struct {
	object, id string
	prefix     string // the input the fields are under, e.g. "body.fields"
}

// toAppErr maps one Salesforce error onto an apperr error. The client-facing message is
// written here (naming the field and the Salesforce code); Salesforce's own message is kept
// as the cause, for logs.
func toAppErr(status int, e sfError, o op) error {
	code := e.code()
	cause := fmt.Errorf("salesforce %d %s: %s", status, code, e.Message)
	field := ""
	if len(e.Fields) > 0 && crm.IsFieldName(e.Fields[0]) {
		field = e.Fields[0]
	} else if m := noSuchColumn.FindStringSubmatch(e.Message); m != nil {
		field = m[1]
	} else if m := requiredList.FindStringSubmatch(e.Message); m != nil {
		field = m[1]
	}
	what := o.object
	if o.id != "" {
		what += " " + o.id
	}
	switch {
	case code == "DUPLICATES_DETECTED" && e.duplicates() != nil:
		d := e.duplicates().toError()
		if d.Object == "" {
			d.Object = o.object
		}
		ids := make([]string, 0, len(d.MatchedIDs))
		for _, id := range d.MatchedIDs {
			ids = append(ids, safeCode(id))
		}
		return &apperr.Error{Code: apperr.Conflict, Err: d,
			Message: fmt.Sprintf("Salesforce duplicate rule %s blocked the write: it matches existing %s %s",
				safeCode(d.Rule), safeCode(d.Object), strings.Join(ids, ", "))}
	case conflictCodes[code]:
		return apperr.Wrap(apperr.Conflict, cause, "Salesforce refused the write to %s (%s)", what, safeCode(code))
	case notFoundCodes[code]:
		return apperr.Wrap(apperr.NotFound, cause, "Salesforce has no %s (%s)", what, safeCode(code))
	case invalidCodes[code] != "":
		f := o.prefix
		if field != "" {
			if f != "" {
				f += "."
			}
			f += field
		}
		if f == "" {
			f = "body"
		}
		return &apperr.Error{Code: apperr.Invalid, Field: f, Err: cause,
			Message: fmt.Sprintf("%s (Salesforce %s)", invalidCodes[code], code)}
	case accessCodes[code]:
		return apperr.Wrap(apperr.NotConfigured, cause, "the Salesforce integration user may not do this (%s)", safeCode(code))
	case transientCodes[code]:
		return apperr.Wrap(apperr.Unavailable, cause, "Salesforce is busy (%s); retry later", safeCode(code))
	}
	return statusErr(status, cause, what)
}

// statusErr maps an answer by its HTTP status alone.
func statusErr(status int, cause error, what string) error {
	switch {
	case status == http.StatusNotFound:
		return apperr.Wrap(apperr.NotFound, cause, "Salesforce has no %s", what)
	case status == http.StatusMultipleChoices:
		return apperr.Wrap(apperr.Conflict, cause, "more than one Salesforce %s has that external id", what)
	case status == http.StatusConflict || status == http.StatusPreconditionFailed:
		return apperr.Wrap(apperr.Conflict, cause, "%s changed in Salesforce since it was read", what)
	case status == http.StatusBadRequest:
		return apperr.Wrap(apperr.Invalid, cause, "Salesforce refused the request for %s", what)
	case status == http.StatusForbidden:
		return apperr.Wrap(apperr.NotConfigured, cause, "the Salesforce integration user may not do this")
	case status >= 500:
		return apperr.Wrap(apperr.Unavailable, cause, "Salesforce is unavailable (HTTP %d)", status)
	}
	return apperr.Wrap(apperr.Unavailable, cause, "Salesforce answered HTTP %d", status)
}

// replyErr maps a non-2xx REST answer onto an apperr error.
func replyErr(r *reply, o op) error {
	errs := parseRESTErrors(r.body)
	what := o.object
	if o.id != "" {
		what += " " + o.id
	}
	if len(errs) == 0 {
		return statusErr(r.status, fmt.Errorf("salesforce %d: %d bytes", r.status, len(r.body)), what)
	}
	return toAppErr(r.status, errs[0], o)
}
