// What one `appliance build` run is asked to do.
namespace Appliance.ImageBuilder.Build;

/// <summary>The inputs of a build: a loaded profile, the content store, and where the image goes.</summary>
/// <param name="ProfileFile">The profile file (for messages and relative paths).</param>
/// <param name="StoreRoot">The content store directory.</param>
/// <param name="OutputDirectory">Where <c>NAME.img</c> and <c>NAME.manifest.json</c> are written.</param>
/// <param name="SourceDateEpoch">Timestamps for every file the build writes; null takes the OS image's creation time.</param>
public sealed record BuildRequest(string ProfileFile, string StoreRoot, string OutputDirectory, long? SourceDateEpoch);

/// <summary>What a build produced.</summary>
public sealed record BuildResult(string ImagePath, string ManifestPath, BuildManifest Manifest);
