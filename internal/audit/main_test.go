package audit_test

import (
	"testing"

	"github.com/nodecommunity/nodecommunity/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }
