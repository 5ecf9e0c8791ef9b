// Where an archive writer reads blobs from (the content store implements it).
namespace Appliance.ImageBuilder.Oci.Archive;

/// <summary>Read access to blobs by digest.</summary>
public interface IBlobSource
{
    /// <summary>Opens a blob for reading.</summary>
    FileStream OpenBlob(Digest digest);
}
