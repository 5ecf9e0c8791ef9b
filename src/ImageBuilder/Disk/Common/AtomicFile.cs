// The old name of the shared atomic writer, kept only while Build/ImageBuild.cs still says Disk.Common.AtomicFile.
namespace Appliance.ImageBuilder.Disk.Common;

/// <summary>
/// <see cref="Appliance.Common.AtomicFile"/> under its former name, for callers not yet moved (Build/ImageBuild.cs);
/// delete this file once none is left. It adds nothing.
/// </summary>
public sealed class AtomicFile(string path, Appliance.Common.AtomicFileOptions? options = null) : Appliance.Common.AtomicFile(path, options);
