package crm

import (
	"context"
	"io"
	"sync"

	"github.com/google/uuid"
)

// ImportResult counts what an import wrote.
type ImportResult struct {
	Created, Updated, Refused int
	Errors                    []RowError // the first 20 refusals
}

// RowError is a refused record and its 0-based position in the input.
type RowError struct {
	Row int
	Err error
}

// Import writes every record next yields (in batches of up to MaxBulk) with `workers`
// concurrent bulk upserts: Postgres then uses more than one core, and reading the input
// overlaps with writing it. Records with the same external id must not be in flight in two
// batches at once; one batch never repeats one (BulkUpsert refuses it), and distinct batches
// of a well-formed file do not either.
func Import(ctx context.Context, s Store, org uuid.UUID, object string, next func(n int) ([]Input, error), workers int) (ImportResult, error) {
	type batch struct {
		start int
		ins   []Input
	}
	batches := make(chan batch)
	var (
		mu       sync.Mutex
		res      ImportResult
		firstErr error
		wg       sync.WaitGroup
	)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for range max(1, workers) {
		wg.Go(func() {
			for b := range batches {
				out, err := s.BulkUpsert(ctx, org, object, b.ins)
				mu.Lock()
				if err != nil {
					if firstErr == nil {
						firstErr = err
						cancel()
					}
					mu.Unlock()
					continue
				}
				for i, r := range out {
					switch {
					case r.Err != nil:
						res.Refused++
						if len(res.Errors) < 20 {
							res.Errors = append(res.Errors, RowError{Row: b.start + i, Err: r.Err})
						}
					case r.Created:
						res.Created++
					default:
						res.Updated++
					}
				}
				mu.Unlock()
			}
		})
	}
	row := 0
	var readErr error
	for ctx.Err() == nil {
		ins, err := next(MaxBulk)
		if err == io.EOF {
			break
		}
		if err != nil {
			readErr = err
			break
		}
		select {
		case batches <- batch{start: row, ins: ins}:
		case <-ctx.Done():
		}
		row += len(ins)
	}
	close(batches)
	wg.Wait()
	if firstErr != nil {
		return res, firstErr
	}
	return res, readErr
}
