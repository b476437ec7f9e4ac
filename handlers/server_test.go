package handlers_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/require"

	"github.com/pqlbot/pqlbot/handlers"
	"github.com/pqlbot/pqlbot/internal/metrics"
)

// Unknown paths and wrong methods are answered as before (404, 405) and
// counted under one bounded route label; known routes are labelled by
// path, the method being a label of its own.
func TestRoutesCountUnmatchedRequests(t *testing.T) {
	m := metrics.New()
	srv := httptest.NewServer((&handlers.Server{Metrics: m.Handler(), Wrap: m.Instrument}).Routes())
	defer srv.Close()
	for _, tc := range []struct {
		method, path string
		want         int
	}{
		{http.MethodGet, "/metrics", 200},
		{http.MethodGet, "/healthz", 200},
		{http.MethodGet, "/v2/track", 404},
		{http.MethodGet, "/wp-login.php?x=1", 404},
		{http.MethodPost, "/metrics", 405},
	} {
		req, err := http.NewRequest(tc.method, srv.URL+tc.path, nil)
		require.NoError(t, err)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, tc.want, resp.StatusCode, "%s %s", tc.method, tc.path)
	}
	require.Equal(t, 4, testutil.CollectAndCount(m.HTTPDuration), "no series per raw path")
	count := func(route, method, code string) int {
		t.Helper()
		obs, err := m.HTTPDuration.GetMetricWithLabelValues(route, method, code)
		require.NoError(t, err)
		var d dto.Metric
		require.NoError(t, obs.(prometheus.Histogram).Write(&d))
		return int(d.GetHistogram().GetSampleCount())
	}
	require.Equal(t, 1, count("/metrics", "GET", "200"))
	require.Equal(t, 1, count("/healthz", "GET", "200"))
	require.Equal(t, 2, count(metrics.RouteUnmatched, "GET", "404"))
	require.Equal(t, 1, count(metrics.RouteUnmatched, "POST", "405"))
}
