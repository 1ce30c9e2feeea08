//! The protobuf codec of purposed's services: prost's, except that bytes which do not decode
//! as the message (invalid UTF-8 in a string, a truncated length, a wrong wire type) are the
//! sender's mistake, INVALID_ARGUMENT, where tonic's own codec answers INTERNAL, which alerts
//! must be able to read as a fault of the service.
//!
//! The generated clients share it (tonic-build takes one codec for both), so a client that
//! receives an undecodable answer reports INVALID_ARGUMENT too.

use tonic::{
    Code, Status,
    codec::{BufferSettings, DecodeBuf},
};
use tonic_prost::{ProstCodec, ProstDecoder, ProstEncoder};

pub struct Codec<T, U>(ProstCodec<T, U>);

impl<T, U> Default for Codec<T, U> {
    fn default() -> Codec<T, U> {
        Codec(ProstCodec::default())
    }
}

impl<T, U> tonic::codec::Codec for Codec<T, U>
where
    T: prost::Message + Send + 'static,
    U: prost::Message + Default + Send + 'static,
{
    type Encode = T;
    type Decode = U;
    type Encoder = ProstEncoder<T>;
    type Decoder = Decoder<U>;

    fn encoder(&mut self) -> ProstEncoder<T> {
        self.0.encoder()
    }

    fn decoder(&mut self) -> Decoder<U> {
        Decoder(self.0.decoder())
    }
}

pub struct Decoder<U>(ProstDecoder<U>);

impl<U: prost::Message + Default> tonic::codec::Decoder for Decoder<U> {
    type Item = U;
    type Error = Status;

    fn decode(&mut self, buffer: &mut DecodeBuf<'_>) -> Result<Option<U>, Status> {
        self.0.decode(buffer).map_err(|status| match status.code() {
            // prost's only error: the bytes are not the message.
            Code::Internal => Status::invalid_argument(format!(
                "the message is not valid protobuf for its type: {}",
                status.message()
            )),
            _ => status,
        })
    }

    fn buffer_settings(&self) -> BufferSettings {
        self.0.buffer_settings()
    }
}
