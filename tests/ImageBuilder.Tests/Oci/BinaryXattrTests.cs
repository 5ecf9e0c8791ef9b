// File capabilities (a binary xattr) written by GNU tar survive flattening byte for byte, plain and gzip layers.
using Appliance.ImageBuilder.Oci;
using Appliance.ImageBuilder.Oci.Flatten;
using Appliance.ImageBuilder.Tests.Store;

namespace Appliance.ImageBuilder.Tests.Oci;

public class BinaryXattrTests
{
    private static void Sh(string script)
    {
        var r = ProcessRunner.Run("bash", ["-ec", script]);
        Assert.True(r.ExitCode == 0, r.Error);
    }

    [Fact]
    [Trait("Category", "External")]
    public void Security_capability_from_gnu_tar_is_kept_byte_for_byte()
    {
        if (!File.Exists("/usr/sbin/setcap") && !File.Exists("/sbin/setcap"))
            Assert.Skip("setcap is not installed (apt-get install libcap2-bin)");
        if (Environment.UserName != "root")
            Assert.Skip("setting file capabilities needs root");
        using var t = new TempDir();
        Sh($"""
            cd '{t.Path}'
            mkdir -p root/bin root/etc
            printf 'not really ping' > root/bin/ping
            printf 'x' > root/etc/plain
            setcap cap_setuid,cap_net_raw+ep root/bin/ping
            getfattr --only-values -n security.capability root/bin/ping > cap.bin
            tar --xattrs --xattrs-include='*' --format=pax --owner=0 --group=0 -C root -cf layer.tar bin etc
            gzip -kn layer.tar
            """);
        var expected = File.ReadAllBytes(t["cap.bin"]);
        Assert.Equal(20, expected.Length);
        Assert.Contains(expected, b => b >= 0x80); // not valid UTF-8 on its own: the BCL reader would mangle it
        foreach (var (file, c) in new[] { ("layer.tar", LayerCompression.None), ("layer.tar.gz", LayerCompression.Gzip) })
        {
            using var tree = LayerFlattener.Flatten([new FlattenLayer(t[file], c, file)], t.Path);
            Assert.Equal(expected, tree.Find("bin/ping")!.Xattrs["security.capability"]);
            Assert.Empty(tree.Find("etc/plain")!.Xattrs);
            using var s = tree.Find("bin/ping")!.Content!.Open();
            Assert.Equal("not really ping", new StreamReader(s).ReadToEnd());
        }
    }
}
