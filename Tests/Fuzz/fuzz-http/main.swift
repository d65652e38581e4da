import FuzzTargets

/// libFuzzer's entry point (built only by scripts/fuzz, with --sanitize=fuzzer).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    FuzzTargets.http(Array(UnsafeBufferPointer(start: data, count: size)))
    return 0
}
