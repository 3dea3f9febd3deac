package manager

import (
	"bytes"
	"slices"

	"github.com/funcx-go/funcx/internal/wire"
)

// sendStatus tells the interchange the workers per container type and the
// routing figures, when they changed since the last report.
func (m *manager) sendStatus() {
	st := m.cs.figures
	st.Types = nil
	idx := map[string]int{}
	for _, w := range m.workers {
		if w == nil || w.retiring {
			continue
		}
		i, ok := idx[w.typ]
		if !ok {
			i = len(st.Types)
			idx[w.typ] = i
			st.Types = append(st.Types, wire.TypeStatus{Container: w.typ})
		}
		st.Types[i].Workers++
	}
	for _, w := range m.idle {
		if i, ok := idx[w.typ]; ok {
			st.Types[i].Idle++
		}
	}
	slices.SortFunc(st.Types, func(a, b wire.TypeStatus) int {
		switch {
		case a.Container < b.Container:
			return -1
		case a.Container > b.Container:
			return 1
		}
		return 0
	})
	b := wire.AppendStatus(nil, &st)
	if bytes.Equal(b, m.cs.last) {
		return
	}
	m.cs.last = b
	m.ln.sendCtrl(wire.MsgStatus, b)
}
