// An image record to create: a name from the archive and the descriptor (index or manifest) it points at.
using Appliance.ClusterRuntime.Agent.Images.Api;

namespace Appliance.ClusterRuntime.Agent.Images;

/// <summary>One name an archive gives to one root descriptor.</summary>
/// <param name="Name">The name as written in the archive (normalized later).</param>
/// <param name="Target">The manifest or index the image points at.</param>
internal sealed record ImageTarget(string Name, OciDescriptor Target);
