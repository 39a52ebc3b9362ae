package crm_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/uptrace/bun/driver/pgdriver"

	"github.com/lanternhq/lantern/internal/crm"
	"github.com/lanternhq/lantern/internal/testenv"
)

func accounts(n, offset int) []crm.Input {
	out := make([]crm.Input, n)
	for i := range out {
		k := offset + i
		out[i] = crm.Input{ExternalID: fmt.Sprintf("acct-%d", k), Fields: map[string]any{
			"Name": fmt.Sprintf("Company %d Holdings, Inc.", k), "Website": fmt.Sprintf("https://www.company%d.com", k),
			"Phone": fmt.Sprintf("+1 415 555 %04d", k%10000), "BillingCity": "San Francisco", "BillingPostalCode": "94105",
			"Industry": "Software", "NumberOfEmployees": float64(k % 5000)}}
	}
	return out
}

// BenchmarkBulkImport imports 20,000 accounts the way `lantern admin crm import` does (batches
// of 1,000, three at a time), against COPY of the same rows into a plain table in the same
// run: the fastest way Postgres takes rows. The bar is 20,000 records/s.
func BenchmarkBulkImport(b *testing.B) {
	db := testenv.DB(b)
	ctx := context.Background()
	org := testenv.NewTenant(b, db, 0).OrgID
	s := &crm.Local{DB: db, Region: "US"}
	if _, err := db.ExecContext(ctx, "CREATE TABLE copy_baseline (org_id uuid, id text, object text, external_id text, fields jsonb, name_norm text, domain text, phone text)"); err != nil {
		b.Fatal(err)
	}
	const n = 20000
	var tImport, tCopy time.Duration
	b.ResetTimer()
	for it := range b.N {
		ins := accounts(n, it*n)
		start := time.Now()
		pos := 0
		res, err := crm.Import(ctx, s, org, crm.Account, func(k int) ([]crm.Input, error) {
			if pos >= len(ins) {
				return nil, io.EOF
			}
			batch := ins[pos:min(pos+k, len(ins))]
			pos += len(batch)
			return batch, nil
		}, 3)
		if err != nil || res.Created != n {
			b.Fatal(err, res)
		}
		tImport += time.Since(start)

		var buf bytes.Buffer
		for i, in := range ins {
			fmt.Fprintf(&buf, "%s\t%s\tAccount\t%s\t{\"Name\":\"%s\"}\t%s\tcompany%d.com\t+1415555%04d\n", org, crm.NewID(crm.Account),
				in.ExternalID, in.Fields["Name"], in.Fields["Name"], it*n+i, (it*n+i)%10000)
		}
		start = time.Now()
		conn, err := db.Conn(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := pgdriver.CopyFrom(ctx, conn, &buf, "COPY copy_baseline FROM STDIN"); err != nil {
			b.Fatal(err)
		}
		conn.Close()
		tCopy += time.Since(start)
	}
	b.ReportMetric(float64(n*b.N)/tImport.Seconds(), "import-records/s")
	b.ReportMetric(float64(n*b.N)/tCopy.Seconds(), "copy-records/s")
	b.ReportMetric(float64(tImport)/float64(tCopy), "import/copy")
}
