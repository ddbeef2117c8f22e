// Package cluster tests scimbridge on a real MySQL-family cluster: TestGaleraReplicas starts a 3-node
// MariaDB Galera cluster on loopback from Debian's packages (mariadb-server, galera-4, rsync), runs two
// scimbridge replicas against two different nodes, and checks under concurrent writes, with a node
// killed half-way, that no request gets a 500, no webhook event is lost or sent twice, and every node
// holds the same, consistent data (internal/invariants). It has no code of its own besides the test.
package cluster
