package match

import (
	"encoding/csv"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Loaders for the outside data in testdata/matching (see testdata/SOURCES.md). Each returns
// records in Lantern's shape plus the true entity of each record.

const dataDir = "../../testdata/matching"

func readCSV(t testing.TB, name string) (header []string, rows [][]string) {
	t.Helper()
	f, err := os.Open(filepath.Join(dataDir, name))
	if err != nil {
		t.Fatalf("open %s: %v", name, err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.FieldsPerRecord = -1
	r.TrimLeadingSpace = true
	all, err := r.ReadAll()
	if err != nil && err != io.EOF {
		t.Fatalf("read %s: %v", name, err)
	}
	for i := range all[0] {
		all[0][i] = strings.TrimSpace(all[0][i])
	}
	return all[0], all[1:]
}

func columns(header []string) map[string]int {
	m := map[string]int{}
	for i, h := range header {
		m[h] = i
	}
	return m
}

// loadPatstat: company names, Account.Name only; entity = leuven_id.
func loadPatstat(t testing.TB) (recs []Record, entity []string) {
	h, rows := readCSV(t, "patstat_reference.csv")
	c := columns(h)
	for _, r := range rows {
		recs = append(recs, Record{ID: r[c["person_id"]], Fields: map[string]string{"Name": r[c["person_name"]]}})
		entity = append(entity, r[c["leuven_id"]])
	}
	return recs, entity
}

// loadChicago: organisation sites as Accounts (Site name → Name, Address → BillingStreet,
// Zip → BillingPostalCode, Phone → Phone); entity = True Id. Phones are mostly seven-digit
// local numbers; they are read with region US like any other number.
func loadChicago(t testing.TB) (recs []Record, entity []string) {
	h, rows := readCSV(t, "chicago_early_childhood_sites.csv")
	c := columns(h)
	for _, r := range rows {
		f := map[string]string{
			"Name":              r[c["Site name"]],
			"BillingStreet":     r[c["Address"]],
			"BillingPostalCode": r[c["Zip"]],
			"Phone":             r[c["Phone"]],
		}
		for k, v := range f {
			if strings.TrimSpace(v) == "" {
				delete(f, k)
			}
		}
		recs = append(recs, Record{ID: r[c["Id"]], Fields: f})
		entity = append(entity, r[c["True Id"]])
	}
	return recs, entity
}

// loadFebrl: person records as Contacts; entity = the N of rec-N-org / rec-N-dup-K.
// soc_sec_id is left out: a CRM contact has no national identifier.
func loadFebrl(t testing.TB, name string) (recs []Record, entity []string) {
	h, rows := readCSV(t, name)
	c := columns(h)
	for _, r := range rows {
		get := func(col string) string { return strings.TrimSpace(r[c[col]]) }
		street := strings.TrimSpace(get("street_number") + " " + get("address_1"))
		if a2 := get("address_2"); a2 != "" {
			street += "\n" + a2
		}
		f := map[string]string{
			"FirstName":         get("given_name"),
			"LastName":          get("surname"),
			"MailingStreet":     street,
			"MailingCity":       get("suburb"),
			"MailingPostalCode": get("postcode"),
			"MailingState":      get("state"),
			"Birthdate":         get("date_of_birth"),
		}
		for k, v := range f {
			if v == "" {
				delete(f, k)
			}
		}
		id := get("rec_id")
		parts := strings.Split(id, "-")
		recs = append(recs, Record{ID: id, Fields: f})
		entity = append(entity, parts[1])
	}
	return recs, entity
}
