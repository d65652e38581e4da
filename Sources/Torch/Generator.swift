import CTorch

/// A seeded random generator for one device type. Pass it to `randn`, `multinomial`, ...
/// to make sampling reproducible independently of the global default generator.
public final class Generator: @unchecked Sendable {
    let handle: OpaquePointer

    public init(seed: UInt64, device: Device = .cpu) throws {
        var out: OpaquePointer?
        try check(ct_generator_new(seed, device.name, &out))
        handle = out!
    }

    deinit { ct_generator_free(handle) }

    /// The full generator state (a uint8 tensor) for checkpoints.
    public func state() throws -> Tensor {
        try Tensor.make { ct_generator_get_state(handle, $0) }
    }

    public func setState(_ state: Tensor) throws {
        try check(ct_generator_set_state(handle, state.handle))
    }
}
