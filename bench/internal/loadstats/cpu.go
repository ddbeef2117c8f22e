package loadstats

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// CPU is CPU time used so far: this process's (the load client and the servers it runs in-process)
// and the database server's, when it runs on this machine (a mariadbd or mysqld process; DB is -1
// otherwise). Phases take it before and after: the database's CPU per request says what a server costs
// the database when both are saturated, which throughput alone on a shared machine does not.
type CPU struct {
	Self, DB time.Duration
}

// ReadCPU reads CPU now.
func ReadCPU() CPU {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	self := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	return CPU{Self: self, DB: dbCPU()}
}

// Sub is c minus earlier.
func (c CPU) Sub(earlier CPU) CPU {
	d := CPU{Self: c.Self - earlier.Self, DB: -1}
	if c.DB >= 0 && earlier.DB >= 0 {
		d.DB = c.DB - earlier.DB
	}
	return d
}

var (
	dbPIDOnce sync.Once
	dbPID     string
)

// dbCPU is the local database server's user + system CPU time, or -1 if there is none to read.
func dbCPU() time.Duration {
	dbPIDOnce.Do(func() {
		comms, _ := filepath.Glob("/proc/[0-9]*/comm")
		for _, c := range comms {
			b, err := os.ReadFile(c)
			if name := strings.TrimSpace(string(b)); err == nil && (name == "mariadbd" || name == "mysqld") {
				dbPID = filepath.Base(filepath.Dir(c))
				return
			}
		}
	})
	if dbPID == "" {
		return -1
	}
	b, err := os.ReadFile("/proc/" + dbPID + "/stat")
	if err != nil {
		return -1
	}
	// Fields after the command's closing parenthesis: utime and stime are the 12th and 13th.
	i := strings.LastIndexByte(string(b), ')')
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return -1
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return -1
	}
	return time.Duration(ut+st) * time.Second / 100 // USER_HZ, 100 on Linux
}
