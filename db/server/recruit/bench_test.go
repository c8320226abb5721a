package recruit

import (
	"fmt"
	"testing"
)

func benchServers(n, zones int) []StorageServer {
	out := make([]StorageServer, n)
	for i := range out {
		out[i] = StorageServer{ID: fmt.Sprintf("s%04d", i), Locality: Locality{Zone: fmt.Sprintf("z%03d", i%zones)}}
	}
	return out
}

// BenchmarkBuildTeams builds the default DesiredTeamsPerServer teams per
// server for triple replication.
func BenchmarkBuildTeams(b *testing.B) {
	triple, _ := ParseMode(ModeTriple)
	for _, n := range []int{30, 300} {
		servers := benchServers(n, n/3)
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			for b.Loop() {
				if _, err := BuildTeams(servers, triple, 0); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkRecruit recruits a triple transaction subsystem from 300
// workers.
func BenchmarkRecruit(b *testing.B) {
	triple, _ := ParseMode(ModeTriple)
	classes := []string{ClassStorage, ClassStorage, ClassLog, ClassStateless, ClassUnset}
	var ws []Worker
	for i := range 300 {
		ws = append(ws, Worker{ID: fmt.Sprintf("w%03d", i), Class: classes[i%len(classes)],
			Locality: Locality{Zone: fmt.Sprintf("z%02d", i%30)}})
	}
	counts := Counts{CommitProxies: 3, GRVProxies: 2, Resolvers: 2, Logs: 6}
	for b.Loop() {
		if _, err := Recruit(ws, triple, counts, nil); err != nil {
			b.Fatal(err)
		}
	}
}
