package compose

import "fmt"

// ClusterSlotCount is the number of hash slots of a Redis Cluster.
const ClusterSlotCount = 16384

// ClusterSlots is the contiguous range [lo, hi] of hash slots that master i
// of n serves: the split `redis-cli --cluster create` makes.
func ClusterSlots(i, n int) (lo, hi int) {
	if n <= 0 || i < 0 || i >= n {
		panic(fmt.Sprintf("compose: cluster node %d of %d", i, n))
	}
	return i * ClusterSlotCount / n, (i+1)*ClusterSlotCount/n - 1
}

// ClusterLink is the api's Toxiproxy link to a cluster node: nodes announce
// it, so CLUSTER SLOTS and MOVED send clients through the proxy.
func ClusterLink(node string) string { return "api_" + node }

// IsClusterNode says whether svc is a Redis Cluster master.
func IsClusterNode(svc string) bool {
	for _, n := range RedisClusterNodes {
		if n == svc {
			return true
		}
	}
	return false
}
