package store_test

import (
	"context"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pqlbot/pqlbot/store"
	"github.com/pqlbot/pqlbot/store/storetest"
)

func TestMigrateConcurrentReplicas(t *testing.T) {
	u := storetest.NewURL(t)
	ctx := context.Background()
	var wg sync.WaitGroup
	applied := make([][]string, 4)
	errs := make([]error, 4)
	for i := range 4 {
		wg.Go(func() {
			s, err := store.Open(ctx, u)
			if err != nil {
				errs[i] = err
				return
			}
			defer s.Close()
			applied[i], errs[i] = s.Migrate(ctx)
		})
	}
	wg.Wait()
	total := 0
	for i := range 4 {
		require.NoError(t, errs[i])
		total += len(applied[i])
	}
	s, err := store.Open(ctx, u)
	require.NoError(t, err)
	defer s.Close()
	var n int
	require.NoError(t, s.Pool().QueryRow(ctx, `SELECT count(*) FROM schema_migrations`).Scan(&n))
	require.Equal(t, n, total, "every migration applied exactly once across replicas")
	require.NoError(t, s.Ready(ctx))
	again, err := s.Migrate(ctx)
	require.NoError(t, err)
	require.Empty(t, again)
}
