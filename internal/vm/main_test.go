package vm

import "testing"

// TestMain runs the tests normally on the host and as the VM's init in the
// guest (see Main).
func TestMain(m *testing.M) { Main(m) }
