// appliance-runtime runs on Linux only (file modes, containerd, cgroups).
[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]
