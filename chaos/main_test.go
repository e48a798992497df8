package chaos

import (
	"os"
	"testing"

	"github.com/pagereply/pagereply/internal/proctest"
)

func TestMain(m *testing.M) { os.Exit(proctest.Main(m)) }
