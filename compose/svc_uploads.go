package compose

// The upload pipeline's two instances and the links they dial.
const (
	SvcUploads         = "uploads"   // the upload service and half the processing members
	SvcUploadsB        = "uploads-b" // the other half: the instance a scenario kills
	LinkUploadsBroker  = "uploads_broker"
	LinkUploadsPG      = "uploads_pg"
	LinkUploadsBBroker = "uploads_b_broker"
	LinkUploadsBPG     = "uploads_b_pg"
	// UploadsPartitions is the files topic's partitions; each instance
	// starts half as many members, one partition each.
	UploadsPartitions = 8
)

// uploads and uploadsB are the worker binary running the files pipeline
// (seed 20), as two processes in one consumer group: an upload service
// (PUT /files/{id}) in front of the files topic, and members that scan,
// resize and moderate each file, writing to the leader.
var (
	uploads  = uploadsSpec(SvcUploads, 92, LinkUploadsBroker, LinkUploadsPG)
	uploadsB = uploadsSpec(SvcUploadsB, 93, LinkUploadsBBroker, LinkUploadsBPG)
)

func uploadsSpec(name string, offset int, broker, pg string) Spec {
	return Spec{
		Name:    name,
		Offsets: map[string]int{"main": offset},
		Dials: []Dial{
			{broker, SvcBroker, "main"},
			{pg, SvcHAProxy, "main"},
		},
		Needs:  []string{SvcBroker, SvcHAProxy},
		Image:  ImageWorker,
		Health: Health{Kind: HealthHTTP, Path: "/health"},
		Command: func(a Addressing) []string {
			return []string{"whatif-worker",
				"--listen", a.Listen(name, "main"),
				"--broker", a.Link(broker),
				"--pg", PGURL(a.Link(pg)),
				"--pipeline", "files",
				"--partitions", itoa(UploadsPartitions),
				"--members", itoa(UploadsPartitions / 2),
			}
		},
	}
}
