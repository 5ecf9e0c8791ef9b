// Test support: network namespaces a test creates and always deletes (their veth pairs and bridges go with them).
namespace Appliance.ClusterRuntime.Tests.Agent;

/// <summary>The test's namespaces, created by <see cref="CreateAsync"/> and deleted on dispose, also when the test failed.</summary>
internal sealed class NetworkNamespaces(params string[] names) : IAsyncDisposable
{
    /// <summary>Adds every namespace and sets its <c>lo</c> up.</summary>
    public async Task CreateAsync()
    {
        var ct = TestContext.Current.CancellationToken;
        foreach (var n in names)
        {
            (await ProcessRunner.RunAsync("ip", ["netns", "add", n], ct: ct)).Ok();
            (await ProcessRunner.RunAsync("ip", ["-n", n, "link", "set", "lo", "up"], ct: ct)).Ok();
        }
    }

    /// <summary>Deletes the namespaces (best effort, not cancellable: it runs after a failed or cancelled test too).</summary>
    public async ValueTask DisposeAsync()
    {
        foreach (var n in names) await ProcessRunner.RunAsync("ip", ["netns", "delete", n]);
    }
}
