package endpoint

import (
	"github.com/funcx-go/funcx/manager"
	"github.com/funcx-go/funcx/worker"
)

// ServeChildRole makes this program serve as a manager or a worker when
// the engine started it as one (the FUNCX_ROLE environment variable says
// which), and exits when that role ends. In any other case it returns at
// once. Call it first thing in main of every program that runs an Engine
// with the default ManagerCommand or WorkerCommand.
func ServeChildRole() {
	worker.Main()
	manager.Main()
}
