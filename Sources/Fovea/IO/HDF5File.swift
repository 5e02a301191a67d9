import Foundation

/// An attribute's value as Fovea's HDF5 reader returns it: text (h5py's fixed- or variable-length
/// strings, a scalar or a list) or numbers (an empty float64 array is how h5py stores an empty list).
public enum HDF5Attribute: Equatable, Sendable {
    case strings([String])
    case numbers(NumPyArray)
}

/// A read-only view of an HDF5 file in the classic layout h5py writes by default (what Keras writes
/// in `model.save("m.h5")`, `save_weights` and `.keras` archives): its groups, their attributes
/// and its datasets, read by Fovea's own reader without libhdf5. For inspecting Keras files whose
/// model Fovea does not rebuild, e.g. the weights of `keras.applications` models.
///
/// Paths are slash-separated from the root group, which is "".
public struct HDF5File: Sendable {
    let reader: HDF5Reader

    /// The file's name, as errors name it.
    public var file: String { reader.file }

    /// Parses the file's superblock; groups, attributes and datasets are read when asked for.
    public init(bytes: [UInt8], file: String) throws {
        reader = try HDF5Reader(bytes: bytes, file: file)
    }

    public init(contentsOf url: URL) throws {
        try self.init(bytes: try NumPy.readBytes(url), file: url.path)
    }

    /// What a group member is.
    public enum MemberKind: Equatable, Sendable { case group, dataset, other }

    private func header(_ path: String) throws -> Int {
        guard let header = try reader.objectHeader(at: path) else {
            throw FoveaError("\(file): has no group or dataset '\(path)'")
        }
        return header
    }

    /// The members of the group at `path`, in the order HDF5 stores them (by the bytes of their names).
    public func members(of path: String) throws -> [(name: String, kind: MemberKind)] {
        guard let members = try reader.members(ofGroupAt: try header(path)) else {
            throw FoveaError("\(file): '\(path)' is not a group")
        }
        return try members.map { member in
            switch try reader.object(at: member.header) {
            case .group: return (member.name, .group)
            case .dataset: return (member.name, .dataset)
            case .other: return (member.name, .other)
            }
        }
    }

    /// The attributes of the group or dataset at `path`, by name.
    public func attributes(of path: String) throws -> [String: HDF5Attribute] {
        try reader.attributes(ofObjectAt: try header(path))
    }

    /// The dataset at `path` (floats or integers, stored contiguously or compactly).
    public func dataset(_ path: String) throws -> NumPyArray {
        try reader.readDataset(at: try header(path), path: path)
    }

    /// The paths of every dataset in the file, sorted.
    public func datasetPaths() throws -> [String] {
        try reader.datasets().keys.sorted()
    }
}
