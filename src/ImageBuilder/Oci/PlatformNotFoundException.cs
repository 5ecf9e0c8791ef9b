// An image that exists but has no variant for the platform asked for: the input's fault, told apart from damage.
namespace Appliance.ImageBuilder.Oci;

/// <summary>
/// The image has no manifest for the wanted platform (its index lacks it, or its only manifest is for another).
/// The message names the image, the platform and what the image has. Callers that add context (the build names the
/// board) catch this, and only this: a damaged index or blob stays an <see cref="InvalidDataException"/>.
/// </summary>
public sealed class PlatformNotFoundException(string message) : Exception(message);
