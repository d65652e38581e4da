"""Runs a command and reports the most GPU memory its process held (nvidia-smi's used_memory for
its pid, polled every 50 ms): the same measure for bcsft and for HF, whatever allocator each uses.
  python3 gpu_peak.py RESULT.json -- COMMAND...
RESULT.json gets {"peak_mib", "rc", "seconds"}; the command's stdout and stderr pass through."""
import json, subprocess, sys, time

result, cmd = sys.argv[1], sys.argv[sys.argv.index("--") + 1:]
p = subprocess.Popen(cmd)
peak, start = 0, time.time()
while p.poll() is None:
    try:
        q = subprocess.run(["nvidia-smi", "--query-compute-apps=pid,used_memory", "--format=csv,noheader,nounits"],
                           capture_output=True, text=True, timeout=5).stdout
        for line in q.splitlines():
            pid, mib = (x.strip() for x in line.split(","))
            if int(pid) == p.pid:
                peak = max(peak, int(mib))
    except Exception:
        pass
    time.sleep(0.05)
json.dump({"peak_mib": peak, "rc": p.returncode, "seconds": time.time() - start}, open(result, "w"))
sys.exit(p.returncode)
