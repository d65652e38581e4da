import Foundation

/// A device name as torch parses it: "cpu", "cuda", "cuda:1".
public struct Device: Sendable, Hashable, CustomStringConvertible, ExpressibleByStringLiteral {
    public let name: String
    public init(_ name: String) { self.name = name }
    public init(stringLiteral value: String) { self.name = value }
    public static let cpu = Device("cpu")
    public static func cuda(_ index: Int = 0) -> Device { Device("cuda:\(index)") }
    public var isCUDA: Bool { name.hasPrefix("cuda") }
    public var description: String { name }

    /// The CUDA index of "cuda:N" (nil for "cuda" alone and for the CPU).
    public var index: Int? {
        guard let colon = name.firstIndex(of: ":") else { return nil }
        return Int(name[name.index(after: colon)...])
    }

    /// What a user wrote ("cpu", "cuda", "cuda:N"), checked for form only (a config file is
    /// validated where it is read, whatever machine reads it). "cuda" alone keeps no index.
    public static func parse(_ spec: String) throws -> Device {
        let s = spec.trimmingCharacters(in: .whitespaces).lowercased()
        if s == "cpu" || s == "cuda" { return Device(s) }
        guard s.hasPrefix("cuda:"), let n = Int(s.dropFirst(5)), n >= 0 else {
            throw TorchError(kind: .invalidArgument, message: "'\(spec)' is not cpu, cuda or cuda:N")
        }
        return .cuda(n)
    }

    /// `parse`, then checks this process can use the device, so a bad setting fails at start-up
    /// with a reason instead of deep inside the first step. "cuda" alone becomes
    /// cuda:`defaultIndex` (a data-parallel rank passes its local rank).
    public static func resolve(_ spec: String, defaultIndex: Int = 0) throws -> Device {
        let parsed = try parse(spec)
        guard parsed.isCUDA else { return .cpu }
        let index = parsed.index ?? defaultIndex
        guard Runtime.cudaAvailable else {
            let why = Runtime.cudaBuilt
                ? "libtorch \(Runtime.torchVersion) has CUDA but sees no GPU (check nvidia-smi and CUDA_VISIBLE_DEVICES)"
                : "libtorch \(Runtime.torchVersion) is a CPU build; build bcsft against a CUDA libtorch with LIBTORCH=DIR (README, 'Using a GPU libtorch')"
            throw TorchError(kind: .invalidArgument, message: "'\(spec)': \(why)")
        }
        let count = Runtime.cudaDeviceCount
        guard index < count else {
            throw TorchError(kind: .invalidArgument, message: "'\(spec)': cuda:\(index) does not exist (\(count) CUDA device(s) visible)")
        }
        return .cuda(index)
    }
}
