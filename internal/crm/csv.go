package crm

import (
	"encoding/csv"
	"fmt"
	"io"
	"regexp"
	"strings"

	"github.com/lanternhq/lantern/internal/apperr"
)

// standardFields are the Salesforce API names a CSV header maps to when it spells one of them
// with other case, spaces or underscores ("billing city" -> BillingCity).
var standardFields = []string{
	"Name", "Website", "Phone", "Fax", "Industry", "Type", "AnnualRevenue", "NumberOfEmployees", "Description",
	"BillingStreet", "BillingCity", "BillingState", "BillingPostalCode", "BillingCountry",
	"ShippingStreet", "ShippingCity", "ShippingState", "ShippingPostalCode", "ShippingCountry",
	"FirstName", "LastName", "Salutation", "Title", "Email", "MobilePhone", "Department", "Birthdate",
	"MailingStreet", "MailingCity", "MailingState", "MailingPostalCode", "MailingCountry",
	"Company", "Street", "City", "State", "PostalCode", "Country", "Status", "LeadSource", "Rating",
	"AccountId", "OwnerId", "StageName", "CloseDate", "Amount", "Probability", "IsActive", "Username",
}

var (
	squash   = regexp.MustCompile(`[^a-z0-9]`)
	nonField = regexp.MustCompile(`[^A-Za-z0-9]+`)
)

// FieldFor maps a CSV header to a field name: an explicit mapping first, then a standard
// field spelled differently, else a custom field (Annual Bonus -> Annual_Bonus__c).
func FieldFor(header string, mapping map[string]string) string {
	h := strings.TrimSpace(strings.TrimPrefix(header, "\ufeff"))
	if f, ok := mapping[h]; ok {
		return f
	}
	key := squash.ReplaceAllString(strings.ToLower(h), "")
	for _, f := range standardFields {
		if strings.ToLower(f) == key {
			return f
		}
	}
	if IsFieldName(h) && strings.HasSuffix(h, "__c") {
		return h
	}
	custom := strings.Trim(nonField.ReplaceAllString(h, "_"), "_")
	if custom == "" || !IsFieldName(custom+"__c") {
		return ""
	}
	return custom + "__c"
}

// CSVReader reads records from CSV with a header row, in batches.
type CSVReader struct {
	r          *csv.Reader
	fields     []string // per column: the field it fills, "" to skip
	externalAt int      // the external id column, or -1
	line       int
}

// NewCSVReader reads the header and maps each column. externalID names the column holding
// each record's external id ("" for none); mapping maps headers to fields explicitly.
func NewCSVReader(r io.Reader, mapping map[string]string, externalID string) (*CSVReader, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	header, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("read the header: %w", err)
	}
	c := &CSVReader{r: cr, externalAt: -1, line: 1}
	for i, h := range header {
		h = strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))
		if h == externalID && externalID != "" {
			c.externalAt = i
			c.fields = append(c.fields, "")
			continue
		}
		c.fields = append(c.fields, FieldFor(h, mapping))
	}
	if externalID != "" && c.externalAt < 0 {
		return nil, apperr.Field("external-id-column", "%q is not a column of the file", externalID)
	}
	return c, nil
}

// Fields is the field each column maps to ("" for skipped columns).
func (c *CSVReader) Fields() []string { return c.fields }

// Next reads up to n records; it returns io.EOF after the last.
func (c *CSVReader) Next(n int) ([]Input, error) {
	var out []Input
	for len(out) < n {
		row, err := c.r.Read()
		if err == io.EOF {
			if len(out) == 0 {
				return nil, io.EOF
			}
			return out, nil
		}
		c.line++
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", c.line, err)
		}
		in := Input{Fields: map[string]any{}}
		for i, v := range row {
			v = strings.TrimSpace(v)
			if i >= len(c.fields) || v == "" {
				continue
			}
			if i == c.externalAt {
				in.ExternalID = v
			} else if f := c.fields[i]; f != "" {
				in.Fields[f] = v
			}
		}
		out = append(out, in)
	}
	return out, nil
}
