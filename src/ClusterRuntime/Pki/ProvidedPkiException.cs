// The provided cluster identity in the data directory does not hold together; the server refuses to start (exit 2).
namespace Appliance.ClusterRuntime.Pki;

/// <summary>
/// The CA files, service key or token placed in the data directory (by <c>appliance cluster init</c> and a site's first
/// boot, or by hand) do not make one cluster. Starting anyway would replace a provided secret, so the server stops.
/// </summary>
public sealed class ProvidedPkiException(string message) : Exception(message);
