import CTorch
import Foundation

/// An error reported by libtorch or by the shim, carrying the shim's message
/// (which names the failing C function and libtorch's own explanation).
public struct TorchError: LocalizedError, Equatable, Sendable {
    public enum Kind: Sendable, Equatable {
        /// libtorch raised: shape mismatch, wrong dtype, index out of range, bad file, ...
        case torch
        /// The shim rejected an argument before calling libtorch.
        case invalidArgument
        case outOfMemory
        case unknown
    }

    public let kind: Kind
    public let message: String

    public init(kind: Kind, message: String) {
        self.kind = kind
        self.message = message
    }

    public var errorDescription: String? { "libtorch: \(message)" }
}

/// Turns a shim status into a Swift error, reading the thread-local message.
@inline(__always)
func check(_ status: ct_status) throws {
    guard status != CT_OK else { return }
    let message = String(cString: ct_last_error())
    let kind: TorchError.Kind
    switch status {
    case CT_ERROR_TORCH: kind = .torch
    case CT_ERROR_INVALID_ARGUMENT: kind = .invalidArgument
    case CT_ERROR_OUT_OF_MEMORY: kind = .outOfMemory
    default: kind = .unknown
    }
    throw TorchError(kind: kind, message: message)
}

/// Reads a string through the shim's "buffer, capacity, needed" contract.
func shimString(_ call: (UnsafeMutablePointer<CChar>?, Int, UnsafeMutablePointer<Int>) -> ct_status) throws -> String {
    var needed = 0
    try check(call(nil, 0, &needed))
    var buffer = [CChar](repeating: 0, count: needed + 1)
    try check(buffer.withUnsafeMutableBufferPointer { call($0.baseAddress, $0.count, &needed) })
    return String(decoding: buffer.prefix(needed).map { UInt8(bitPattern: $0) }, as: UTF8.self)
}
