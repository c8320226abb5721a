package recruit

import "strings"

// Fit is how well a process class suits a role; lower is better. The order
// is FoundationDB's (fdb.md §6.3); its ExcludeFit has no counterpart here
// because excluded processes are never recruited at all.
type Fit int

// The fitness levels, best first.
const (
	BestFit Fit = iota
	GoodFit
	UnsetFit
	OkayFit
	WorstFit
	NeverAssign
)

func (f Fit) String() string {
	switch f {
	case BestFit:
		return "best"
	case GoodFit:
		return "good"
	case UnsetFit:
		return "unset"
	case OkayFit:
		return "okay"
	case WorstFit:
		return "worst"
	}
	return "never"
}

// Role is a role the cluster controller places on a process.
type Role int

// The roles. Sequencer is FoundationDB's master.
const (
	Sequencer Role = iota
	CommitProxy
	GRVProxy
	Resolver
	Log
	Storage
	ClusterController
	Ratekeeper
	DataDistributor
)

// Roles lists every role.
func Roles() []Role {
	return []Role{Sequencer, CommitProxy, GRVProxy, Resolver, Log, Storage, ClusterController, Ratekeeper, DataDistributor}
}

// String is the role's name as workers report it ("sequencer" is status
// json's "master").
func (r Role) String() string {
	switch r {
	case Sequencer:
		return "sequencer"
	case CommitProxy:
		return "commit_proxy"
	case GRVProxy:
		return "grv_proxy"
	case Resolver:
		return "resolver"
	case Log:
		return "log"
	case Storage:
		return "storage"
	case ClusterController:
		return "cluster_controller"
	case Ratekeeper:
		return "ratekeeper"
	case DataDistributor:
		return "data_distributor"
	}
	return "unknown"
}

// Process classes (fdb.md §6.3) that the fitness table names. Any other
// class string is an "other" class: WorstFit for the stateless roles,
// NeverAssign for logs and storage.
const (
	ClassUnset             = "unset"
	ClassStorage           = "storage"
	ClassTransaction       = "transaction"
	ClassResolution        = "resolution"
	ClassTester            = "tester"
	ClassCommitProxy       = "commit_proxy"
	ClassMaster            = "master"
	ClassStateless         = "stateless"
	ClassLog               = "log"
	ClassClusterController = "cluster_controller"
	ClassLogRouter         = "log_router"
	ClassDataDistributor   = "data_distributor"
	ClassCoordinator       = "coordinator"
	ClassRatekeeper        = "ratekeeper"
	ClassGRVProxy          = "grv_proxy"
	ClassBlobWorker        = "blob_worker"
)

// normalizeClass lower-cases class, reads "" as unset and FoundationDB's
// pre-7.0 "proxy" as commit_proxy.
func normalizeClass(class string) string {
	c := strings.ToLower(strings.TrimSpace(class))
	switch c {
	case "":
		return ClassUnset
	case "proxy":
		return ClassCommitProxy
	}
	return c
}

// ownClass is the class made for role: BestFit.
func ownClass(role Role) string {
	switch role {
	case Sequencer:
		return ClassMaster
	case CommitProxy:
		return ClassCommitProxy
	case GRVProxy:
		return ClassGRVProxy
	case Resolver:
		return ClassResolution
	case Log:
		return ClassLog
	case Storage:
		return ClassStorage
	case ClusterController:
		return ClassClusterController
	case Ratekeeper:
		return ClassRatekeeper
	case DataDistributor:
		return ClassDataDistributor
	}
	return ""
}

// Fitness is how well a process of class suits role (fdb.md §6.3):
//
//	role                                best        good         unset  okay                                   worst             never
//	storage                             storage     -            unset  -                                      transaction, log  other
//	log                                 log         transaction  unset  -                                      storage           other
//	sequencer, proxies, resolver        own class   stateless    unset  transaction                            other             -
//	cluster_controller                  own class   stateless    unset  master, resolution, transaction,       other             -
//	                                                                    commit_proxy, grv_proxy, log_router
//	ratekeeper, data_distributor        own class   stateless    unset  master                                 other             -
//
// coordinator, tester and blob_worker processes are never assigned a role.
func Fitness(class string, role Role) Fit {
	c := normalizeClass(class)
	own := ownClass(role)
	switch {
	case own == "" || c == ClassCoordinator || c == ClassTester || c == ClassBlobWorker:
		return NeverAssign
	case c == own:
		return BestFit
	case c == ClassUnset:
		return UnsetFit
	}
	switch role {
	case Storage:
		return pick(c, nil, nil, []string{ClassTransaction, ClassLog}, NeverAssign)
	case Log:
		return pick(c, []string{ClassTransaction}, nil, []string{ClassStorage}, NeverAssign)
	case ClusterController:
		return pick(c, []string{ClassStateless}, []string{ClassMaster, ClassResolution, ClassTransaction,
			ClassCommitProxy, ClassGRVProxy, ClassLogRouter}, nil, WorstFit)
	case Ratekeeper, DataDistributor:
		return pick(c, []string{ClassStateless}, []string{ClassMaster}, nil, WorstFit)
	default: // Sequencer, CommitProxy, GRVProxy, Resolver
		return pick(c, []string{ClassStateless}, []string{ClassTransaction}, nil, WorstFit)
	}
}

// pick finds c among the good, okay and worst classes; otherwise is the
// fitness of any other class.
func pick(c string, good, okay, worst []string, otherwise Fit) Fit {
	for _, level := range []struct {
		classes []string
		fit     Fit
	}{{good, GoodFit}, {okay, OkayFit}, {worst, WorstFit}} {
		for _, class := range level.classes {
			if c == class {
				return level.fit
			}
		}
	}
	return otherwise
}
