package endpoint_test

// The test binary is the manager of engines with every provider type and
// container runtime, as funcx-endpoint, which links them all, is.
import _ "github.com/funcx-go/funcx/endpoint/backends"
