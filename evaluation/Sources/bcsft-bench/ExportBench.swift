import Foundation
import Models
import Torch

/// Why the export subcommand could not run.
struct ExportBenchError: LocalizedError {
    let message: String
    var errorDescription: String? { message }
}

/// A /proc/self/status field in bytes (the file gives kB); 0 where there is no such file.
func procStatusBytes(_ field: String) -> Int {
    guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
          let line = text.split(separator: "\n").first(where: { $0.hasPrefix(field + ":") }),
          let kb = line.split(separator: " ").dropFirst().first.flatMap({ Int($0) }) else { return 0 }
    return kb * 1024
}

/// Sets the peak resident size (VmHWM) back to the current one (Linux 4.0+).
func resetPeakRSS() throws {
    guard let h = FileHandle(forWritingAtPath: "/proc/self/clear_refs") else {
        throw ExportBenchError(message: "cannot open /proc/self/clear_refs: the peak resident size cannot be measured here")
    }
    defer { try? h.close() }
    try h.write(contentsOf: Data("5".utf8))
}

/// export: the resident memory a checkpoint export takes. A model of the given shape is built,
/// then saved with `Checkpoint.save` (--dtype float32|bfloat16, --shard-mb) into --out; the peak
/// resident size during the save is read from VmHWM (reset just before). The folder is loaded
/// back and compared with the model's weights in the export dtype (`round_trip`), and the
/// load's own peak is reported too.
func export() throws -> [String: Any] {
    let rssRuntime = procStatusBytes("VmRSS")
    let m = try model()
    // The initialisation's temporaries (a randn and its scaled copy per tensor) sit freed in
    // the CPU allocator's cache; emptying it leaves the runtime and the model, as after a load.
    // The save then runs with the cache on, as the trainer's does.
    let cache = try Runtime.Settings.fromEnvironment().cpuCacheBytes
    try Runtime.setCPUCacheLimit(bytes: 0)
    try Runtime.setCPUCacheLimit(bytes: cache)
    let dtype: DType = stringArg("dtype") == "float32" ? .float32 : .bfloat16
    guard let out = stringArg("out") else { throw ExportBenchError(message: "export needs --out DIR (a folder that may be replaced)") }
    let dir = URL(fileURLWithPath: out)
    try? FileManager.default.removeItem(at: dir)
    let modelBytes = m.parameterCount * 4
    let maxShard = arg("shard-mb", 5000) * 1_000_000

    try resetPeakRSS()
    let before = procStatusBytes("VmRSS")
    let t0 = now()
    try Checkpoint.save(m, to: dir, dtype: dtype, maxShardBytes: maxShard)
    let seconds = now() - t0
    let peak = procStatusBytes("VmHWM")
    let files = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".safetensors") }.sorted()

    try resetPeakRSS()
    let beforeLoad = procStatusBytes("VmRSS")
    let t1 = now()
    let back = try Checkpoint.load(dir, dtype: dtype)
    let loadSeconds = now() - t1
    let loadPeak = procStatusBytes("VmHWM")
    var same = true
    for (name, w) in m.parameters where same {
        same = try back.weights[name]!.bytes() == w.to(dtype).bytes()
    }
    try? FileManager.default.removeItem(at: dir)
    return ["mode": "export", "dtype": "\(dtype)", "model_bytes": modelBytes, "export_bytes": m.parameterCount * dtype.size,
            "largest_tensor_bytes": m.parameters.map { $0.1.count * 4 }.max() ?? 0, "shards": files.count,
            "rss_runtime": rssRuntime, "rss_before_save": before, "peak_rss_during_save": peak,
            "save_extra_bytes": peak - before, "save_extra_of_model": Double(peak - before) / Double(modelBytes),
            "peak_above_runtime_of_model": Double(peak - rssRuntime) / Double(modelBytes),
            "save_s": seconds, "round_trip": same,
            "rss_before_load": beforeLoad, "load_s": loadSeconds, "peak_rss_during_load": loadPeak,
            "load_extra_of_export": Double(loadPeak - beforeLoad) / Double(m.parameterCount * dtype.size)]
}
