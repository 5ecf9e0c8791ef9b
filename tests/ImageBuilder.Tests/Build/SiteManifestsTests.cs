// The profile's manifests reach the boot partition, where appliance-firstboot picks them up.
using Appliance.ImageBuilder.Tests.Boot;

namespace Appliance.ImageBuilder.Tests.Build;

/// <summary><c>manifests:</c> of a profile, built on the synthetic OS.</summary>
[Trait("Category", "RoundTrip")]
public sealed class SiteManifestsTests
{
    /// <summary>Each manifest is on the boot partition as appliance/manifests/NAME with its bytes.</summary>
    [Fact]
    public void Manifests_AreOnTheBootPartition()
    {
        using var os = new SyntheticOs();
        var profile = os.Profile("manifests");
        var dir = Path.GetDirectoryName(profile)!;
        const string demo = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: demo\n";
        File.WriteAllText(Path.Combine(dir, "demo.yaml"), demo);
        File.AppendAllText(profile, "manifests:\n- demo.yaml\n");
        var r = os.Build(profile, Path.Combine(os.Dir, "out"));
        var boot = r.Manifest.Partitions.Single(p => p.Name == "boot");
        Assert.Equal(demo, System.Text.Encoding.UTF8.GetString(BootTestSupport.ReadFatFile(r.ImagePath, boot.Offset, "appliance/manifests/demo.yaml")));
    }
}
