package profile

// Profiles in the tests name every provider type and container runtime,
// as funcx-endpoint, which links them all, reads them.
import _ "github.com/funcx-go/funcx/endpoint/backends"
