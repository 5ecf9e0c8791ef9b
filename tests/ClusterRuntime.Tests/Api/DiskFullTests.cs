// A full disk: writes answer 507 with a Status, /readyz fails the datastore check, and both recover without a restart.
using System.Net;
using Appliance.ClusterRuntime.Tests.Support;

namespace Appliance.ClusterRuntime.Tests.Api;

[Trait("Category", "External")]
public sealed class DiskFullTests
{
    static CancellationToken Ct => TestContext.Current.CancellationToken;

    static int Run(string file, params string[] args) => ProcessRunner.Run(file, args).ExitCode;

    /// <summary>Writes zeros into <paramref name="path"/> until the filesystem refuses.</summary>
    static void FillUp(string path)
    {
        using var f = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1, FileOptions.WriteThrough);
        var block = new byte[64 * 1024];
        try
        {
            while (true) f.Write(block);
        }
        catch (IOException) { }
        block = new byte[4096];
        try
        {
            while (true) f.Write(block);
        }
        catch (IOException) { }
    }

    [Fact]
    public async Task DiskFull_Writes507_ReadyzFails_RecoversWhenSpaceReturns()
    {
        if (!OperatingSystem.IsLinux() || Environment.UserName != "root")
            Assert.Skip("needs root on Linux to mount a small tmpfs");
        using var dir = new TempDir();
        var mount = Path.Combine(dir.Path, "fs");
        Directory.CreateDirectory(mount);
        if (Run("mount", "-t", "tmpfs", "-o", "size=48m,mode=0700", "tmpfs", mount) != 0)
            Assert.Skip("mount -t tmpfs failed (no CAP_SYS_ADMIN in this environment)");
        try
        {
            var data = Path.Combine(mount, "data");
            await using var server = await RuntimeProcess.StartAsync(data, RuntimeProcess.FreePort());
            using var http = server.CreateClient();
            using var anonymous = server.CreateClient(admin: false);
            Assert.Equal(HttpStatusCode.Created, (await http.PostAsync("/api/v1/namespaces/default/configmaps", Json.Body(Json.ConfigMap("before")), Ct)).StatusCode);

            var filler = Path.Combine(mount, "filler");
            FillUp(filler);
            // The WAL reuses space it already holds, so write until a write needs new space.
            HttpResponseMessage? refused = null;
            for (var i = 0; i < 400 && refused is null; i++)
            {
                var r = await http.PostAsync("/api/v1/namespaces/default/configmaps", Json.Body(Json.ConfigMap($"big-{i}", null, ("v", new string('y', 256 * 1024)))), Ct);
                if (r.StatusCode != HttpStatusCode.Created) refused = r;
            }
            Assert.NotNull(refused);
            var status = await Json.ReadAsync(refused);
            Assert.True(refused.StatusCode == HttpStatusCode.InsufficientStorage, $"{(int)refused.StatusCode}: {status.ToJsonString()}");
            Assert.Equal("Status", status["kind"]!.GetValue<string>());
            Assert.Equal(507, status["code"]!.GetValue<int>());
            Assert.Contains("no space left", status["message"]!.GetValue<string>());

            var ready = await anonymous.GetAsync("/readyz?verbose", Ct);
            var body = await ready.Content.ReadAsStringAsync(Ct);
            Assert.Equal(HttpStatusCode.InternalServerError, ready.StatusCode);
            Assert.Contains("[-]datastore failed: ", body);
            // Reads keep working.
            Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/api/v1/namespaces/default/configmaps/before", Ct)).StatusCode);
            // A snapshot never takes the last space.
            var snapshot = await RuntimeCli.RunAsync(TimeSpan.FromSeconds(30), "datastore", "snapshot", "--data-dir", data);
            Assert.Equal(1, snapshot.Code);
            Assert.Contains("none was taken", Assert.Single(snapshot.Lines("appliance-runtime datastore:")));

            File.Delete(filler);
            // Ready again without a restart and without any client write.
            var deadline = DateTime.UtcNow.AddSeconds(15);
            while ((await anonymous.GetAsync("/readyz", Ct)).StatusCode != HttpStatusCode.OK)
            {
                Assert.True(DateTime.UtcNow < deadline, "/readyz did not recover within 15 s after space returned");
                await Task.Delay(200, Ct);
            }
            var verbose = await (await anonymous.GetAsync("/readyz?verbose", Ct)).Content.ReadAsStringAsync(Ct);
            Assert.Contains("[+]datastore ok", verbose);
            Assert.Equal(HttpStatusCode.Created, (await http.PostAsync("/api/v1/namespaces/default/configmaps", Json.Body(Json.ConfigMap("after")), Ct)).StatusCode);
            server.Kill();
        }
        finally
        {
            if (Run("umount", mount) != 0) Run("umount", "-l", mount);
        }
    }
}
