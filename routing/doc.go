// Package routing holds the strategies that decide which manager gets which
// pending tasks. A Router is a pure function of the pending task counts per
// container type and snapshots of the connected managers: it keeps no
// state, so it is tested without sockets and swapped without ceremony.
//
// The strategies follow funcX's table (docs/architecture.md, Routing):
//
//   - Plain: raw worker processes (worker_mode = no_container). Every
//     worker is RAW; tasks go to any manager with free slots.
//   - Hard: each manager serves fixed container types; tasks go only to
//     managers of their type.
//   - Soft: native containers with container_routing = soft. A task goes
//     to a manager with an idle warm container of its type, else to a
//     random manager with free slots, which cold-starts one.
package routing
