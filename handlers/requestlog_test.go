package handlers

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestRequestIDs(t *testing.T) {
	require.True(t, validRequestID("abc-123_X"))
	require.False(t, validRequestID(""))
	require.False(t, validRequestID("a b"))
	require.False(t, validRequestID(string(make([]byte, 65))))
}
