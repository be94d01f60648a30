package chaos

import (
	"fmt"
	"time"

	toxiclient "github.com/Shopify/toxiproxy/v2/client"
)

// Slicer cuts data into chunks of averageSize ± variation bytes and waits
// delay between chunks: partial reads and slow drips, which break parsers
// that assume one read is one message.
func Slicer(tp *Toxiproxy, link string, dir Direction, averageSize, variation int, delay time.Duration) (Fault, error) {
	if averageSize <= 0 {
		return nil, fmt.Errorf("chaos: slicer average size %d must be positive", averageSize)
	}
	if variation < 0 || variation >= averageSize {
		return nil, fmt.Errorf("chaos: slicer variation %d must be in [0, %d)", variation, averageSize)
	}
	if delay < 0 || delay%time.Microsecond != 0 {
		return nil, fmt.Errorf("chaos: slicer delay %v must be whole non-negative microseconds", delay)
	}
	desc := fmt.Sprintf("%d±%dB every %v", averageSize, variation, delay)
	return newToxic(tp, link, dir, "slicer", desc, toxiclient.Attributes{
		"average_size":   averageSize,
		"size_variation": variation,
		"delay":          delay.Microseconds(),
	})
}
